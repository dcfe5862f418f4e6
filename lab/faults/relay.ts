/**
 * The relay: a transparent TCP hop on loopback that the lab puts between a
 * client and a server in every case that has a server. It is the wire tap
 * (issue 10: every fault must be seen on the wire) and, in another mode,
 * the fault proxy of the network cases (tc netem is not available on these
 * kernels; a relay works anywhere without privileges).
 *
 * It forwards bytes unchanged and mirrors TCP closes as they happen, FIN as
 * FIN and reset as reset, so a client behind it sees what it would see
 * without it. It decodes the HTTP/2 frames of both directions as they pass
 * (lab/faults/rpc-wire.ts) and records them with the TCP events of both
 * legs: the client leg (client <-> relay) and the server leg (relay <->
 * server).
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { createRpcConnectionDecoder, type Direction, type RpcFrame } from "./rpc-wire.ts";
import { socketKey, type TcpQueues } from "./tcp-queues.ts";
import { createTlsDecryptor, type TlsSummary } from "./tls-decryptor.ts";
import type { TlsKeyLog } from "./tls-key-log.ts";

/**
 * What the relay does with the bytes between client and server:
 * - forward: pass them on both ways, closes too;
 * - blackhole: pass nothing either way, not even a close, and keep both
 *   connections open: an unplugged cable, or a middlebox that lost its state.
 *   The relay still reads (and decodes) what arrives, so the record shows
 *   what went nowhere;
 * - reset: reset both TCP connections (RST), like a load balancer that drops
 *   them; a new connection is reset as soon as it is accepted.
 */
export type RelayMode = "forward" | "blackhole" | "reset";

/** The client leg joins the client and the relay; the server leg the relay and the server. */
export type Leg = "client" | "server";

export interface TcpEvent {
  /** performance.now() of the lab process. */
  at: number;
  leg: Leg;
  /** open: connected; fin: a FIN was sent or received; reset: an RST; refused: the server refused the connection. */
  event: "open" | "fin" | "reset" | "refused";
  /** Who did it: the peer at the far end of the leg, or the relay. */
  by: "client" | "server" | "relay";
}

/** A frame as the relay saw it pass. */
export interface TapFrame extends RpcFrame {
  /** performance.now() when the relay read it. */
  at: number;
  /** Read by the relay and not passed on (blackhole). */
  dropped?: true;
}

/** One TCP connection through the relay, both legs. */
export interface TapConnection {
  /** 1 for the first connection the relay accepted, and so on. */
  id: number;
  /** The client's port (its end of the client leg). */
  clientPort: number;
  /** The relay's port on the server leg: what the server sees as its peer's port. */
  upstreamPort: number | undefined;
  frames: TapFrame[];
  tcp: TcpEvent[];
  /** Bytes passed on, per direction. */
  forwarded: Record<Direction, number>;
  /** Bytes read and not passed on (blackhole), per direction. */
  dropped: Record<Direction, number>;
  /** Where the bytes of a direction stopped making sense as HTTP/2. */
  undecodable: Partial<Record<Direction, string>>;
  /** Over TLS (issue 19): what the tap read of the handshake, and whether it had the secrets. */
  tls?: TlsSummary;
}

export interface RelayOptions {
  /** Where the server listens. Default host: 127.0.0.1. */
  targetHost?: string;
  targetPort: number;
  /** Address the relay listens on. Default: 127.0.0.1. */
  host?: string;
  /** Port it listens on. Default: 0, chosen by the OS (a proxy's upstream slot names its own). */
  port?: number;
  /** Decode and record the HTTP/2 frames. Default: true (false only to measure what the tap costs). */
  decode?: boolean;
  /**
   * The connections are TLS: read the HTTP/2 inside with the secrets of this
   * key log (issue 19). Records whose secrets are not logged yet are read
   * when they are, with the time they passed. Default: none, h2c.
   */
  tls?: TlsKeyLog;
}

export interface Relay {
  /** The port clients connect to. */
  readonly port: number;
  readonly mode: RelayMode;
  /**
   * Switches every connection, open and future, to a mode; or with
   * `existing`, only the connections open now, new ones passing as before
   * (a NAT or firewall that forgot a flow, issue 17). Returns when it took
   * effect (performance.now()).
   */
  setMode(mode: RelayMode, scope?: "all" | "existing"): number;
  /**
   * Stops accepting connections, the open ones going on: a client now finds
   * the port refused, as it would a dead server's (the relay would otherwise
   * accept and then reset it). For a server the lab kills; resume() listens
   * again on the same port once its successor does, and sends the new
   * connections to `targetPort` when given (a successor started beforehand
   * on a port of its own).
   */
  pause(): Promise<void>;
  resume(targetPort?: number): Promise<void>;
  /** Every connection so far, open or closed, in the order they were accepted. */
  readonly connections: readonly TapConnection[];
  /** Connections open now. */
  readonly open: number;
  /**
   * For each open connection: the bytes read so far from one side (the
   * server's: s2c; the client's: c2s), and the bytes that side has sent
   * that the kernel still holds, in that side's send queue or the relay's
   * receive queue (`queues`: tcpQueues(), read at the same moment).
   */
  heldFrom(side: Leg, queues: TcpQueues): Map<TapConnection, { read: number; queued: number }>;
  /** Stops listening and destroys every socket. */
  close(): Promise<void>;
}

interface Pair {
  /** What the relay does with this connection's bytes. */
  mode: RelayMode;
  record: TapConnection;
  client: Socket;
  server: Socket;
  /** Whether each leg is done (closed or destroyed by us), so that we neither record nor mirror twice. */
  ended: Record<Leg, boolean>;
}

/**
 * Resets a socket (RST) and calls `onReset` as the reset goes out. A socket
 * whose FIN is still on its way out (end() called, the shutdown not yet
 * done) cannot be reset: libuv refuses (uv_tcp_close_reset: EINVAL while
 * shutting down), and Node 20 then drops the handle unclosed, which made the
 * lab's process spin at exit (issue 14). Such a socket is reset right after
 * its FIN; one whose FIN never leaves (a peer that does not read) is left to
 * the relay's close().
 */
export function resetSocket(socket: Socket, onReset: () => void): void {
  if (socket.destroyed) return;
  const reset = () => {
    if (socket.destroyed) return;
    onReset();
    socket.resetAndDestroy();
  };
  if (socket.writableEnded && !socket.writableFinished) socket.once("finish", reset);
  else reset();
}

/** What a read was: when, and whether it was dropped (blackhole); a TLS record keeps its read's. */
type Read = { at: number; dropped: boolean };

/**
 * The tap of one connection: decodes what passes each way into its record's
 * frames, inside TLS with the key log's secrets (issue 19). `catchUp` reads
 * the TLS records that waited for their secrets.
 */
function createConnectionTap(
  record: TapConnection,
  options: Pick<RelayOptions, "decode" | "tls">,
): { pass(dir: Direction, chunk: Buffer, read: Read): void; catchUp?: () => void } {
  const decoder = (options.decode ?? true) ? createRpcConnectionDecoder() : undefined;
  const tls = decoder && options.tls ? createTlsDecryptor<Read>(options.tls) : undefined;
  if (tls) record.tls = tls.summary;
  /** Why a direction cannot be read (the TLS layer's, then HTTP/2's), or none. */
  const noteFailure = (dir: Direction) => {
    const failure = tls?.failure(dir) ?? decoder?.failure(dir);
    if (failure) record.undecodable[dir] = failure;
    else delete record.undecodable[dir];
  };
  const decodePiece = (dir: Direction, data: Buffer, read: Read) => {
    if (!decoder) return;
    const last = record.frames.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
    for (const frame of decoder.push(dir, data)) {
      record.frames.push(read.dropped ? { ...frame, at: read.at, dropped: true } : { ...frame, at: read.at });
    }
    // A TLS record that waited for its secrets was read before frames of the other direction
    // already here: the frames stay in the order they passed (a stable sort keeps each direction's).
    if (read.at < last) record.frames.sort((a, b) => a.at - b.at);
    noteFailure(dir);
  };
  return {
    pass(dir, chunk, read) {
      if (tls) for (const piece of tls.push(dir, chunk, read)) decodePiece(dir, piece.data, piece.meta);
      else decodePiece(dir, chunk, read);
    },
    catchUp:
      tls &&
      (() => {
        for (const { dir, piece } of tls.drain()) decodePiece(dir, piece.data, piece.meta);
        noteFailure("c2s");
        noteFailure("s2c");
      }),
  };
}

/**
 * Joins an accepted client socket to a new connection to the server: every
 * byte forwarded (or dropped, in blackhole) and tapped, every close mirrored
 * as it happens (FIN as FIN, reset as reset), each TCP event recorded.
 */
function joinPair(
  client: Socket,
  record: TapConnection,
  target: { host: string; port: number },
  mode: RelayMode,
  pairs: Set<Pair>,
  tap: ReturnType<typeof createConnectionTap>,
): Pair {
  const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
  const pair: Pair = { mode, record, client, server: upstream, ended: { client: false, server: false } };
  pairs.add(pair);
  note(pair, "client", "open", "client");
  let upstreamUp = false;
  /** Client bytes that came before the server leg was up. */
  const early: Buffer[] = [];

  const leave = () => {
    if (pair.client.destroyed && pair.server.destroyed) pairs.delete(pair);
  };

  const pass = (dir: Direction, chunk: Buffer) => {
    const at = performance.now();
    const dropped = pair.mode !== "forward";
    tap.pass(dir, chunk, { at, dropped });
    if (dropped) {
      record.dropped[dir] += chunk.length;
      return;
    }
    record.forwarded[dir] += chunk.length;
    const to = dir === "c2s" ? upstream : client;
    if (dir === "c2s" && !upstreamUp) early.push(chunk);
    else if (!to.destroyed) to.write(chunk);
  };

  /** A leg's peer sent FIN: in forward mode, send FIN on the other leg once what it sent is through. */
  const onFin = (from: Leg) => {
    if (pair.ended[from]) return;
    note(pair, from, "fin", from);
    if (pair.mode !== "forward") return;
    const other: Leg = from === "client" ? "server" : "client";
    const to = other === "client" ? client : upstream;
    if (pair.ended[other] || to.destroyed) return;
    note(pair, other, "fin", "relay");
    to.end();
  };

  /** A leg failed: a reset from its peer (ECONNRESET, EPIPE) is mirrored as a reset in forward mode. */
  const onError = (from: Leg, e: NodeJS.ErrnoException) => {
    if (pair.ended[from]) return;
    pair.ended[from] = true;
    if (from === "server" && !upstreamUp && e.code === "ECONNREFUSED") {
      note(pair, "server", "refused", "server");
      // Nothing listens: the client must not believe it reached a server.
      resetLeg(pair, "client");
      return;
    }
    note(pair, from, "reset", from === "client" ? "client" : "server");
    if (pair.mode === "forward") resetLeg(pair, from === "client" ? "server" : "client");
  };

  client.on("data", (chunk: Buffer) => pass("c2s", chunk));
  upstream.on("data", (chunk: Buffer) => pass("s2c", chunk));
  client.on("end", () => onFin("client"));
  upstream.on("end", () => onFin("server"));
  client.on("error", (e) => onError("client", e));
  upstream.on("error", (e) => onError("server", e));
  client.on("close", leave);
  upstream.on("close", leave);
  // A socket whose both directions are done closes; ours then too.
  client.on("finish", () => client.readableEnded && client.destroy());
  upstream.on("finish", () => upstream.readableEnded && upstream.destroy());
  client.on("end", () => client.writableFinished && client.destroy());
  upstream.on("end", () => upstream.writableFinished && upstream.destroy());
  upstream.on("connect", () => {
    upstreamUp = true;
    record.upstreamPort = upstream.localPort;
    note(pair, "server", "open", "relay");
    for (const chunk of early.splice(0)) upstream.write(chunk);
    // The client may have sent FIN before the server leg was up.
    if (client.readableEnded && pair.mode === "forward" && !pair.ended.server) {
      note(pair, "server", "fin", "relay");
      upstream.end();
    }
  });
  applyMode(pair);
  return pair;
}

const note = (pair: Pair, leg: Leg, event: TcpEvent["event"], by: TcpEvent["by"]) =>
  pair.record.tcp.push({ at: performance.now(), leg, event, by });

/** Resets a leg's socket ourselves (RST), once; recorded when the RST goes out. */
function resetLeg(pair: Pair, leg: Leg): void {
  if (pair.ended[leg]) return;
  pair.ended[leg] = true;
  resetSocket(leg === "client" ? pair.client : pair.server, () => note(pair, leg, "reset", "relay"));
}

/** A pair in reset mode is reset at once, both legs. */
function applyMode(pair: Pair): void {
  if (pair.mode === "reset") {
    resetLeg(pair, "client");
    resetLeg(pair, "server");
  }
}

export async function createRelay(options: RelayOptions): Promise<Relay> {
  const pairs = new Set<Pair>();
  const all: TapConnection[] = [];
  /** Per TLS connection, open or closed: reads the records that waited for their secrets (issue 19). */
  const catchUps: (() => void)[] = [];
  let mode: RelayMode = "forward";
  /** Where new connections go: a restarted server may listen on a port of its own (resume()). */
  let targetPort = options.targetPort;

  const onConnection = (client: Socket) => {
    const record: TapConnection = {
      id: all.length + 1,
      clientPort: client.remotePort ?? 0,
      upstreamPort: undefined,
      frames: [],
      tcp: [],
      forwarded: { c2s: 0, s2c: 0 },
      dropped: { c2s: 0, s2c: 0 },
      undecodable: {},
    };
    all.push(record);
    const tap = createConnectionTap(record, options);
    if (tap.catchUp) catchUps.push(tap.catchUp);
    joinPair(client, record, { host: options.targetHost ?? "127.0.0.1", port: targetPort }, mode, pairs, tap);
  };
  /** The listener; a paused relay closed it, and resume() listens with a new one. */
  const listen = () => {
    const next: Server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
    next.on("error", () => {});
    return next;
  };
  let server = listen();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("relay: no port");

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get connections() {
      for (const catchUp of catchUps) catchUp();
      return all;
    },
    get open() {
      return pairs.size;
    },
    heldFrom(side, queues) {
      const held = new Map<TapConnection, { read: number; queued: number }>();
      const dir: Direction = side === "server" ? "s2c" : "c2s";
      for (const pair of pairs) {
        const socket = side === "server" ? pair.server : pair.client;
        const ours = socket.localAddress && socket.localPort && socket.remoteAddress && socket.remotePort;
        if (!ours) continue;
        const here = { ip: socket.localAddress ?? "", port: socket.localPort ?? 0 };
        const there = { ip: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
        const queued = (queues.get(socketKey(here, there))?.rx ?? 0) + (queues.get(socketKey(there, here))?.tx ?? 0);
        held.set(pair.record, { read: pair.record.forwarded[dir] + pair.record.dropped[dir], queued });
      }
      return held;
    },
    setMode(next, scope = "all") {
      if (scope === "all") mode = next;
      const at = performance.now();
      for (const pair of [...pairs]) {
        pair.mode = next;
        applyMode(pair);
      }
      return at;
    },
    async pause() {
      // The listening socket closes at once; close()'s callback would wait for every connection.
      if (server.listening) server.close();
    },
    async resume(successorPort) {
      if (successorPort !== undefined) targetPort = successorPort;
      if (server.listening) return;
      const next = listen();
      await new Promise<void>((resolve, reject) => {
        next.once("error", reject);
        next.listen(address.port, options.host ?? "127.0.0.1", () => {
          next.off("error", reject);
          resolve();
        });
      });
      server = next;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      pairs.clear();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
