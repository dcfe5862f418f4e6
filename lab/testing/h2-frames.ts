/**
 * Raw HTTP/2 bytes (RFC 9113 section 4.1 frames, RFC 7541 HPACK literals),
 * for what node:http2 will not send: garbage, broken frames, mutated
 * requests, and a way to send them. Used by the server's bad-input and fuzz tests.
 */
import * as net from "node:net";

/** The client connection preface (RFC 9113 section 3.4). */
export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const frameType = {
  data: 0,
  headers: 1,
  priority: 2,
  rstStream: 3,
  settings: 4,
  pushPromise: 5,
  ping: 6,
  goaway: 7,
  windowUpdate: 8,
  continuation: 9,
} as const;

export const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const;

/** One frame: 9-byte header (24-bit length, type, flags, 31-bit stream id), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type & 0xff, 3);
  header.writeUInt8(flags & 0xff, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 section 5.1); `first` holds the bits above the prefix. */
function hpackInteger(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of "literal without indexing, new name" fields, no Huffman: simple and always valid. */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => {
      const n = Buffer.from(name, "latin1");
      const v = Buffer.from(value, "latin1");
      return [Buffer.from([0]), hpackInteger(n.length, 7), n, hpackInteger(v.length, 7), v];
    }),
  );
}

/** A gRPC length-prefixed message: compressed flag, 32-bit length, message. */
export function envelope(message: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export interface GrpcRequestOptions {
  path: string;
  /** The request body: whole envelopes, or anything else. */
  body: Uint8Array;
  /** Headers after the usual gRPC ones. */
  extraHeaders?: readonly (readonly [string, string])[];
  streamId?: number;
}

/** A whole gRPC call on a new connection: preface, SETTINGS, HEADERS, DATA with END_STREAM. */
export function grpcConnectionBytes(options: GrpcRequestOptions): Buffer {
  const streamId = options.streamId ?? 1;
  const headers = headerBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", options.path],
    [":authority", "127.0.0.1"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...(options.extraHeaders ?? []),
  ]);
  return Buffer.concat([
    preface,
    frame(frameType.settings, 0, 0),
    frame(frameType.headers, flag.endHeaders, streamId, headers),
    frame(frameType.data, flag.endStream, streamId, options.body),
  ]);
}

/** Sends raw bytes on a new connection; whether the server closed it within `waitMs`, and what it sent. */
export function rawExchange(
  port: number,
  bytes: Uint8Array,
  waitMs = 2000,
): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, waitMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
    socket.write(bytes);
  });
}
