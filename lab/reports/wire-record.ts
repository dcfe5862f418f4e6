import type { TapConnection } from "../faults/relay.ts";
import type { WireRecord } from "./run-record.ts";

/** A tapped connection for results.json, times from the run's origin; behind a proxy, on which hop. */
export function wireRecord(c: TapConnection, origin: number, hop?: WireRecord["hop"], backend?: number): WireRecord {
  const t = (at: number) => Math.round((at - origin) * 10) / 10;
  return {
    ...(backend !== undefined && { backend }),
    ...(hop && { hop }),
    id: c.id,
    clientPort: c.clientPort,
    serverPeerPort: c.upstreamPort ?? null,
    frames: c.frames.map(({ at, dir, type, stream, flags, length: _length, ...rest }) => ({
      t: t(at),
      dir,
      type,
      stream,
      ...(flags.length > 0 && { flags }),
      ...rest,
    })),
    tcp: c.tcp.map((e) => ({ t: t(e.at), leg: e.leg, event: e.event, by: e.by })),
    bytes: { forwarded: c.forwarded, dropped: c.dropped },
    ...(Object.keys(c.undecodable).length > 0 && { undecodable: c.undecodable }),
    ...(c.tls && { tls: { ...c.tls } }),
  };
}
