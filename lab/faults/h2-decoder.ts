/**
 * Decodes the HTTP/2 frames of one direction of a connection (RFC 9113
 * section 4), for the wire tap. Header blocks go through hpack.js, a kept
 * HPACK decoder (RFC 7541), never one of ours; everything else is the fixed
 * frame layout of RFC 9113 section 6. It shares no code with the programs
 * whose bytes it reads (node:http2, nghttp2, the fault peer): the tap must
 * be able to catch them out.
 */
import hpack from "hpack.js";

/** The client connection preface (RFC 9113 section 3.4). */
const clientPreface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const frameTypes = [
  "DATA",
  "HEADERS",
  "PRIORITY",
  "RST_STREAM",
  "SETTINGS",
  "PUSH_PROMISE",
  "PING",
  "GOAWAY",
  "WINDOW_UPDATE",
  "CONTINUATION",
] as const;
export type FrameType = (typeof frameTypes)[number];

/** RFC 9113 section 7. */
const errorCodes = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/** RFC 9113 section 6.5.2, and RFC 8441's ENABLE_CONNECT_PROTOCOL. */
const settingNames: Record<number, string> = {
  1: "HEADER_TABLE_SIZE",
  2: "ENABLE_PUSH",
  3: "MAX_CONCURRENT_STREAMS",
  4: "INITIAL_WINDOW_SIZE",
  5: "MAX_FRAME_SIZE",
  6: "MAX_HEADER_LIST_SIZE",
  8: "ENABLE_CONNECT_PROTOCOL",
};

/** "CANCEL" for 8; an unknown code keeps its number. */
export function errorCodeName(code: number): string {
  return errorCodes[code] ?? `UNKNOWN_${code}`;
}

/** One frame as the tap saw it. */
export interface H2Frame {
  /** The frame type's name, or "UNKNOWN_n". */
  type: FrameType | `UNKNOWN_${number}`;
  stream: number;
  /** Flag names: END_STREAM, END_HEADERS, ACK, PADDED, PRIORITY. */
  flags: string[];
  /** Payload length, bytes. */
  length: number;
  /** RST_STREAM and GOAWAY: the error code, by number and name. */
  errorCode?: number;
  error?: string;
  /** GOAWAY: the last stream the sender processed, and its debug data. */
  lastStreamId?: number;
  debug?: string;
  /** HEADERS (with its CONTINUATION frames): the decoded fields, in order. */
  headers?: [string, string][];
  /** SETTINGS: by name. */
  settings?: Record<string, number>;
  /** WINDOW_UPDATE. */
  increment?: number;
  /** PING: the 8 opaque bytes, hex. */
  opaque?: string;
}

/** A frame, and for DATA its payload without padding (the tap reads messages and statuses in it). */
export interface DecodedFrame {
  frame: H2Frame;
  data?: Buffer;
}

export interface H2DirectionDecoder {
  /** Decodes what `chunk` completes; returns the frames it finished, in order. */
  push(chunk: Uint8Array): DecodedFrame[];
  /** Set once the bytes stopped making sense as HTTP/2 (no preface, a broken header block): why. */
  readonly failure: string | undefined;
}

export interface H2DecoderOptions {
  /** The direction starts with the client preface: client to server. */
  preface: boolean;
}

const flagNames = (type: number, flags: number): string[] => {
  const names: string[] = [];
  if (type === 0 || type === 1) {
    if (flags & 0x1) names.push("END_STREAM");
    if (flags & 0x8) names.push("PADDED");
  }
  if ((type === 4 || type === 6) && flags & 0x1) names.push("ACK");
  if ((type === 1 || type === 5 || type === 9) && flags & 0x4) names.push("END_HEADERS");
  if (type === 1 && flags & 0x20) names.push("PRIORITY");
  return names;
};

/**
 * A decoder for one direction of one connection. HPACK state lives per
 * direction (RFC 7541 section 2.2), so every header block of the direction
 * goes through it, in order, whether anyone asked about it or not.
 */
export function createH2Decoder(options: H2DecoderOptions): H2DirectionDecoder {
  // The dynamic table starts at SETTINGS_HEADER_TABLE_SIZE's default (RFC 9113 section 6.5.2);
  // an encoder that uses another size says so in the block itself (RFC 7541 section 6.3): nginx
  // announces 0 to its upstream, and the server's encoder shrinks its table to 0 (issue 14). A
  // size update above 4096 (for an end that announced more) leaves the direction undecodable,
  // and the run without its evidence: a lab error, never a finding.
  const decompressor = hpack.decompressor.create({ table: { maxSize: 4096 } });
  let hpackError: Error | undefined;
  decompressor.on("error", (e) => {
    hpackError = e;
  });
  let buffer = Buffer.alloc(0);
  let prefaceLeft = options.preface;
  let failure: string | undefined;
  /** A HEADERS or PUSH_PROMISE frame whose block goes on in CONTINUATION frames. */
  let open: { frame: H2Frame; fragments: Buffer[]; continuations: H2Frame[] } | undefined;

  const decodeBlock = (block: Buffer): [string, string][] | undefined => {
    decompressor.write(block);
    decompressor.execute();
    const fields: [string, string][] = [];
    for (let field = decompressor.read(); field !== null; field = decompressor.read()) {
      fields.push([field.name, field.value]);
    }
    if (hpackError) {
      failure = `HPACK: ${hpackError.message}`;
      return undefined;
    }
    return fields;
  };

  /**
   * The frames one frame completes: none for a HEADERS or PUSH_PROMISE whose block goes on
   * (it is held until its last CONTINUATION, so that it comes out with its fields), itself,
   * or the held frame and then this CONTINUATION.
   */
  const parse = (type: number, flags: number, stream: number, payload: Buffer): DecodedFrame[] => {
    const frame: H2Frame = {
      type: frameTypes[type] ?? `UNKNOWN_${type}`,
      stream,
      flags: flagNames(type, flags),
      length: payload.length,
    };
    let data: Buffer | undefined;
    switch (type) {
      case 0:
        data = flags & 0x8 ? payload.subarray(1, payload.length - payload[0]) : payload;
        break;
      case 1: {
        let body = payload;
        if (flags & 0x8) body = body.subarray(1, body.length - body[0]);
        if (flags & 0x20) body = body.subarray(5);
        open = { frame, fragments: [body], continuations: [] };
        break;
      }
      case 5: {
        let body = payload;
        if (flags & 0x8) body = body.subarray(1, body.length - body[0]);
        open = { frame, fragments: [body.subarray(4)], continuations: [] };
        break;
      }
      case 9:
        open?.fragments.push(payload);
        break;
      case 3:
        frame.errorCode = payload.readUInt32BE(0);
        frame.error = errorCodeName(frame.errorCode);
        break;
      case 4:
        frame.settings = {};
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = payload.readUInt16BE(i);
          frame.settings[settingNames[id] ?? `SETTING_${id}`] = payload.readUInt32BE(i + 2);
        }
        break;
      case 6:
        frame.opaque = payload.subarray(0, 8).toString("hex");
        break;
      case 7:
        frame.lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
        frame.errorCode = payload.readUInt32BE(4);
        frame.error = errorCodeName(frame.errorCode);
        if (payload.length > 8) frame.debug = payload.subarray(8).toString("latin1");
        break;
      case 8:
        frame.increment = payload.readUInt32BE(0) & 0x7fffffff;
        break;
    }
    if (type === 1 || type === 5 || type === 9) {
      if (!(flags & 0x4)) {
        if (type === 9) open?.continuations.push(frame);
        return open ? [] : [{ frame }];
      }
      const held = open;
      open = undefined;
      if (!held) return [{ frame }];
      const headers = decodeBlock(Buffer.concat(held.fragments));
      if (headers) held.frame.headers = headers;
      if (held.frame === frame) return [{ frame }];
      return [held.frame, ...held.continuations, frame].map((f) => ({ frame: f }));
    }
    return [{ frame, data }];
  };

  return {
    get failure() {
      return failure;
    },
    push(chunk) {
      if (failure) return [];
      buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk]);
      if (prefaceLeft) {
        const n = Math.min(buffer.length, clientPreface.length);
        if (!buffer.subarray(0, n).equals(clientPreface.subarray(0, n))) {
          failure = "no HTTP/2 client preface";
          return [];
        }
        if (buffer.length < clientPreface.length) return [];
        buffer = buffer.subarray(clientPreface.length);
        prefaceLeft = false;
      }
      const frames: DecodedFrame[] = [];
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const type = buffer[3];
        const flags = buffer[4];
        const stream = buffer.readUInt32BE(5) & 0x7fffffff;
        const payload = buffer.subarray(9, 9 + length);
        buffer = buffer.subarray(9 + length);
        try {
          frames.push(...parse(type, flags, stream, payload));
        } catch (e) {
          // A payload too short for its type: the peer broke the framing, and so does our view.
          failure = `malformed ${frameTypes[type] ?? `type ${type}`} frame: ${(e as Error).message}`;
          break;
        }
        if (failure) break;
      }
      return frames;
    },
  };
}
