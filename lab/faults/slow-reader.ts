/**
 * A client that stops reading (issue 13): it calls Chat over raw HTTP/2 with
 * a flow-control window of 0 (SETTINGS_INITIAL_WINDOW_SIZE 0, RFC 9113
 * section 6.9.2), so the server may send headers but no byte of DATA, while
 * its HTTP/2 stack stays alive and answers every PING. With a long name the
 * reply is bigger than any window would be. It can then leave: reset its
 * streams, or drop its connections without a word.
 */
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/chat_pb.ts";
import { envelope } from "../testing/h2-frames.ts";

export interface SlowReaderOptions {
  port: number;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Chat streams to open. Default: 1. */
  streams?: number;
  /** Streams per connection. Default: 100 (the servers' default limit). */
  perConnection?: number;
  /** Bytes of the request's name, which every reply repeats. Default: 100 000. */
  nameBytes?: number;
  /** Speak TLS (ALPN h2), trusting this CA (--tls, issue 19). Default: none, h2c. */
  tlsCa?: Buffer;
}

export interface SlowReaders {
  sessions: http2.ClientHttp2Session[];
  streams: http2.ClientHttp2Stream[];
  /** Settles once every stream has its response headers, or has closed (a handler that waits for room sends none). */
  responded: Promise<void>;
  /** DATA bytes that reached us anyway (none while the window stays shut). */
  readonly received: number;
  /** Resets every stream with RST_STREAM(CANCEL). */
  reset(): void;
  /** Drops every connection: the sockets close, no GOAWAY, no RST_STREAM. */
  drop(): void;
  /** Ends everything (sockets destroyed). */
  close(): void;
}

export function openSlowReaders(options: SlowReaderOptions): SlowReaders {
  const total = options.streams ?? 1;
  const perConnection = options.perConnection ?? 100;
  const host = options.host ?? "127.0.0.1";
  const body = envelope(
    toBinary(
      ChatRequestSchema,
      create(ChatRequestSchema, { name: "x".repeat(options.nameBytes ?? 100_000), text: "are you there?" }),
    ),
  );
  const sockets: Socket[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  const streams: http2.ClientHttp2Stream[] = [];
  let received = 0;
  for (let opened = 0; opened < total; opened += perConnection) {
    // Our own socket, so that drop() can close it under HTTP/2's feet (Node forbids it otherwise).
    const socket = options.tlsCa
      ? tlsConnect({ host, port: options.port, ca: options.tlsCa, ALPNProtocols: ["h2"] })
      : connect({ host, port: options.port });
    socket.on("error", () => {});
    sockets.push(socket);
    const session = http2.connect(`${options.tlsCa ? "https" : "http"}://${host}:${options.port}`, {
      settings: { initialWindowSize: 0 },
      createConnection: () => socket,
    });
    session.on("error", () => {});
    sessions.push(session);
    for (let i = 0; i < Math.min(perConnection, total - opened); i++) {
      const stream = session.request({
        ":method": "POST",
        ":path": "/chat.v1.ChatService/Chat",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      stream.end(body);
      streams.push(stream);
    }
  }
  const responded = Promise.all(
    streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          stream.once("response", () => resolve());
          stream.once("close", () => resolve());
        }),
    ),
  ).then(() => {});
  return {
    sessions,
    streams,
    responded,
    get received() {
      return received;
    },
    reset() {
      for (const stream of streams) if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    },
    drop() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      for (const session of sessions) session.destroy();
    },
  };
}
