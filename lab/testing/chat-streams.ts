import * as http2 from "node:http2";
import { defaultMaxStreams } from "../../lib/server-flags.ts";

/** Chat streams opened with node:http2, grouped by connection. */
export interface ChatStreams {
  sessions: http2.ClientHttp2Session[];
  /** streams[i]: the streams of sessions[i]. */
  streams: http2.ClientHttp2Stream[][];
  /** Settles once every stream has had its first message. */
  flowing: Promise<void>;
}

/**
 * Opens `count` gRPC Chat streams, `perConnection` on each connection (at
 * most the servers' default cap, so that none is refused), each
 * sending `body` as its request: load for the leak tests and the memory
 * benchmark, with every stream at hand to reset or drop.
 */
export function openChatStreams(
  port: number,
  count: number,
  body: Uint8Array,
  perConnection = defaultMaxStreams,
): ChatStreams {
  const sessions = Array.from({ length: Math.ceil(count / perConnection) }, () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    return session;
  });
  const streams = sessions.map((session, s) =>
    Array.from({ length: Math.min(perConnection, count - s * perConnection) }, () => {
      const req = session.request({
        ":method": "POST",
        ":path": "/chat.v1.ChatService/Chat",
        "content-type": "application/grpc",
        te: "trailers",
      });
      req.on("error", () => {});
      req.end(body);
      return req;
    }),
  );
  const flowing = Promise.all(
    streams.flat().map((req) => new Promise<void>((resolve) => req.once("data", () => resolve()))),
  ).then(() => {});
  return { sessions, streams, flowing };
}
