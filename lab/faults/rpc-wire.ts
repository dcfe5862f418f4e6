/**
 * Reads the RPC layer off a connection's HTTP/2 frames, for the wire tap:
 * which stream is which call, where its messages are, and the status it
 * ended with as the server put it on the wire. gRPC carries the status in
 * HTTP/2 trailers (PROTOCOL-HTTP2.md), gRPC-Web in a trailer envelope
 * inside DATA (flag 0x80, PROTOCOL-WEB.md), Connect streaming in an
 * end-stream envelope (flag 0x02, JSON; connectrpc.com/docs/protocol).
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { codeName } from "../../lib/status-code.ts";
import { createH2Decoder, type H2DirectionDecoder, type H2Frame } from "./h2-decoder.ts";

export type Direction = "c2s" | "s2c";

/** One length-prefixed envelope of a call, completed in the DATA frame that carries this. */
export interface Envelope {
  kind: "message" | "trailers" | "end-stream";
  /** Message bytes. */
  length: number;
  /** Message counted from 1 per stream and direction (messages only). */
  index?: number;
}

/** A status as the server wrote it. */
export interface WireStatus {
  /** The code's name ("ok", "unavailable"), or null where the frame that should hold it has none. */
  code: string | null;
  message: string;
  via: "trailers" | "trailers-only" | "grpc-web-trailers" | "end-stream";
}

/** A frame with what it means to the call on its stream. */
export interface RpcFrame extends H2Frame {
  dir: Direction;
  /** DATA: the envelopes it completed. */
  envelopes?: Envelope[];
  /** The status it carries, where it is the frame that carries one. */
  status?: WireStatus;
}

interface StreamState {
  /** The response's content type, once its headers came. */
  responseType?: string;
  /** How the response's compressed envelopes (flag 0x01) are compressed: grpc-encoding, connect-content-encoding. */
  responseEncoding?: string;
  responded: boolean;
  data: Record<Direction, Buffer>;
  messages: Record<Direction, number>;
}

export interface RpcConnectionDecoder {
  /** Decodes bytes of one direction; returns the frames they completed. */
  push(dir: Direction, chunk: Uint8Array): RpcFrame[];
  /** Why a direction stopped decoding, if it did. */
  failure(dir: Direction): string | undefined;
}

/** grpc-message is percent-encoded (PROTOCOL-HTTP2.md, Responses). */
function grpcMessage(raw: string | undefined): string {
  if (!raw) return "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function grpcStatus(fields: Iterable<[string, string]>, via: WireStatus["via"]): WireStatus {
  const map = new Map([...fields].map(([k, v]) => [k.toLowerCase(), v]));
  const raw = map.get("grpc-status");
  const code = raw !== undefined && /^\d+$/.test(raw.trim()) ? codeName(Number(raw)) : null;
  return { code, message: grpcMessage(map.get("grpc-message")), via };
}

/**
 * An envelope's bytes as sent: a compressed one (flag 0x01) inflated with the response's
 * encoding. connect-go compresses every envelope of a client that accepts gzip, its
 * end-stream message and gRPC-Web trailers too (issue 27); undefined when it cannot be read.
 */
function envelopeBody(flags: number, body: Buffer, encoding: string | undefined): Buffer | undefined {
  if (!(flags & 0x01)) return body;
  try {
    switch (encoding) {
      case "gzip":
        return gunzipSync(body);
      case "br":
        return brotliDecompressSync(body);
      case "deflate":
        return inflateSync(body);
    }
  } catch {
    // Unreadable: said below.
  }
  return undefined;
}

function endStreamStatus(json: string): WireStatus {
  try {
    const body = JSON.parse(json) as { error?: { code?: string; message?: string } };
    if (body.error === undefined) return { code: "ok", message: "", via: "end-stream" };
    return { code: body.error.code ?? null, message: body.error.message ?? "", via: "end-stream" };
  } catch {
    return { code: null, message: `unreadable end-stream message: ${json.slice(0, 80)}`, via: "end-stream" };
  }
}

export function createRpcConnectionDecoder(): RpcConnectionDecoder {
  const decoders: Record<Direction, H2DirectionDecoder> = {
    c2s: createH2Decoder({ preface: true }),
    s2c: createH2Decoder({ preface: false }),
  };
  const streams = new Map<number, StreamState>();
  const state = (id: number): StreamState => {
    let s = streams.get(id);
    if (!s) {
      s = { responded: false, data: { c2s: Buffer.alloc(0), s2c: Buffer.alloc(0) }, messages: { c2s: 0, s2c: 0 } };
      streams.set(id, s);
    }
    return s;
  };

  const onData = (frame: RpcFrame, s: StreamState, payload: Buffer) => {
    s.data[frame.dir] = Buffer.concat([s.data[frame.dir], payload]);
    const envelopes: Envelope[] = [];
    let buf = s.data[frame.dir];
    const web = s.responseType?.startsWith("application/grpc-web") ?? false;
    const connect = s.responseType?.startsWith("application/connect") ?? false;
    while (buf.length >= 5) {
      const flags = buf[0];
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      const body = buf.subarray(5, 5 + length);
      buf = buf.subarray(5 + length);
      const plain = frame.dir === "s2c" ? envelopeBody(flags, body, s.responseEncoding) : body;
      if (frame.dir === "s2c" && web && flags & 0x80) {
        envelopes.push({ kind: "trailers", length });
        if (!plain) {
          frame.status = {
            code: null,
            message: `compressed trailers (${s.responseEncoding})`,
            via: "grpc-web-trailers",
          };
          continue;
        }
        const fields = plain
          .toString("latin1")
          .split("\r\n")
          .filter(Boolean)
          .map((line): [string, string] => {
            const colon = line.indexOf(":");
            return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
          });
        frame.status = grpcStatus(fields, "grpc-web-trailers");
      } else if (frame.dir === "s2c" && connect && flags & 0x02) {
        envelopes.push({ kind: "end-stream", length });
        frame.status = plain
          ? endStreamStatus(plain.toString("utf8"))
          : { code: null, message: `compressed end-stream message (${s.responseEncoding})`, via: "end-stream" };
      } else {
        envelopes.push({ kind: "message", length, index: ++s.messages[frame.dir] });
      }
    }
    s.data[frame.dir] = buf;
    if (envelopes.length > 0) frame.envelopes = envelopes;
  };

  return {
    failure: (dir) => decoders[dir].failure,
    push(dir, chunk) {
      return decoders[dir].push(chunk).map(({ frame: f, data }): RpcFrame => {
        const frame: RpcFrame = { ...f, dir };
        if (frame.stream === 0) return frame;
        const s = state(frame.stream);
        if (frame.type === "HEADERS" && frame.headers) {
          const fields = new Map(frame.headers);
          if (dir === "s2c" && !s.responded) {
            s.responded = true;
            s.responseType = fields.get("content-type");
            s.responseEncoding = fields.get("connect-content-encoding") ?? fields.get("grpc-encoding");
            // A gRPC response with nothing but headers carries its status there (Trailers-Only).
            if (frame.flags.includes("END_STREAM")) frame.status = grpcStatus(frame.headers, "trailers-only");
          } else if (dir === "s2c" && frame.flags.includes("END_STREAM")) {
            frame.status = grpcStatus(frame.headers, "trailers");
          }
        } else if (frame.type === "DATA" && data && data.length > 0) {
          onData(frame, s, data);
        }
        return frame;
      });
    },
  };
}
