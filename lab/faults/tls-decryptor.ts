/**
 * Reads the HTTP/2 inside a TLS 1.3 connection as the relay sees it pass
 * (issue 19), with the secrets the peers logged (tls-key-log.ts): the relay
 * still forwards every byte unchanged, and the peers see nothing of this.
 *
 * TLS 1.3 only (RFC 8446), as every peer of the lab negotiates it: the
 * ClientHello's random names the connection in the key log, the
 * ServerHello's cipher suite says how its records are sealed, and each
 * application record is opened with a key and IV derived from the
 * direction's traffic secret (section 7.3) and its sequence number (5.3).
 * Handshake records are sealed with other keys and are left unread: the
 * first record that opens with the application key is application record 0.
 */
import { createDecipheriv, createHmac } from "node:crypto";
import type { Direction } from "./rpc-wire.ts";
import type { TlsKeyLog } from "./tls-key-log.ts";

/** The TLS 1.3 cipher suites (RFC 8446 B.4) a peer may choose. */
const suites: Record<number, { name: string; cipher: string; keyLength: number; hash: string; hashLength: number }> = {
  4865: { name: "TLS_AES_128_GCM_SHA256", cipher: "aes-128-gcm", keyLength: 16, hash: "sha256", hashLength: 32 },
  4866: { name: "TLS_AES_256_GCM_SHA384", cipher: "aes-256-gcm", keyLength: 32, hash: "sha384", hashLength: 48 },
  4867: {
    name: "TLS_CHACHA20_POLY1305_SHA256",
    cipher: "chacha20-poly1305",
    keyLength: 32,
    hash: "sha256",
    hashLength: 32,
  },
};
type Suite = (typeof suites)[number];

/** HKDF-Expand (RFC 5869 2.3). node:crypto's hkdf always extracts first, which TLS 1.3's labels do not. */
function hkdfExpand(hash: string, secret: Buffer, info: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, secret)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 7.1) with an empty context. */
export function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, "latin1");
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  return hkdfExpand(hash, secret, info, length);
}

/** One direction's application traffic key (RFC 8446 7.3), and its record count. */
interface TrafficKey {
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  seq: bigint;
}

function trafficKey(suite: Suite, secret: Buffer): TrafficKey {
  return {
    secret,
    key: expandLabel(suite.hash, secret, "key", suite.keyLength),
    iv: expandLabel(suite.hash, secret, "iv", 12),
    seq: 0n,
  };
}

/** Opens one record (RFC 8446 5.2, 5.3); undefined when its tag does not match this key. */
function open(suite: Suite, key: TrafficKey, header: Buffer, body: Buffer): Buffer | undefined {
  if (body.length < 17) return undefined;
  const nonce = Buffer.from(key.iv);
  for (let i = 0; i < 8; i++) nonce[11 - i] ^= Number((key.seq >> BigInt(8 * i)) & 0xffn);
  try {
    const decipher = createDecipheriv(suite.cipher as "aes-128-gcm", key.key, nonce, { authTagLength: 16 });
    decipher.setAAD(header);
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** What the tap learned of a connection's TLS. */
export interface TlsSummary {
  version?: string;
  suite?: string;
  /** Whether the key log had this connection's secrets. */
  secrets: boolean;
}

/** Bytes of one direction, with what the relay noted when it read them. */
export interface Piece<M> {
  data: Buffer;
  meta: M;
}

export interface TlsDecryptor<M> {
  /**
   * Takes what the relay read in one direction, and gives back the
   * plaintext it can read so far (each piece with the meta of the read that
   * completed its record). Records whose secrets are not logged yet wait.
   */
  push(dir: Direction, chunk: Buffer, meta: M): Piece<M>[];
  /** Reads again the records that waited for their secrets, with the key log read now. */
  drain(): { dir: Direction; piece: Piece<M> }[];
  /** Why a direction cannot be read (yet), if it cannot. */
  failure(dir: Direction): string | undefined;
  /** What the handshake said: the version and cipher suite, and whether the key log had the connection's secrets. */
  readonly summary: TlsSummary;
}

/** Record content types (RFC 8446 B.1). */
const handshake = 22;
const applicationData = 23;
const changeCipherSpec = 20;
const alert = 21;

export function createTlsDecryptor<M>(keyLog: TlsKeyLog): TlsDecryptor<M> {
  const buffered: Record<Direction, Buffer> = { c2s: Buffer.alloc(0), s2c: Buffer.alloc(0) };
  /** Sealed records waiting for their secrets, in order. */
  const waiting: Record<Direction, { header: Buffer; body: Buffer; meta: M }[]> = { c2s: [], s2c: [] };
  const keys: Partial<Record<Direction, TrafficKey>> = {};
  /** Whether a direction's application records have begun (a record opened with its key). */
  const started: Record<Direction, boolean> = { c2s: false, s2c: false };
  const failures: Partial<Record<Direction, string>> = {};
  let clientRandom: string | undefined;
  let suite: Suite | undefined;
  const summary: TlsSummary = { secrets: false };

  /** The ClientHello's random, the ServerHello's suite and version (RFC 8446 4.1.2, 4.1.3). */
  const readHello = (dir: Direction, body: Buffer) => {
    if (body[0] !== (dir === "c2s" ? 1 : 2) || body.length < 38) return;
    const random = body.subarray(6, 38).toString("hex");
    if (dir === "c2s") {
      clientRandom = random;
      return;
    }
    let at = 38;
    at += 1 + body[at]; // legacy_session_id
    const cipher = body.readUInt16BE(at);
    at += 3; // cipher suite, compression
    summary.version = "TLS 1.2 or older";
    const end = at + 2 + body.readUInt16BE(at);
    for (at += 2; at + 4 <= end; ) {
      const type = body.readUInt16BE(at);
      const length = body.readUInt16BE(at + 2);
      if (type === 0x2b && length === 2 && body.readUInt16BE(at + 4) === 0x0304) summary.version = "TLS 1.3";
      at += 4 + length;
    }
    suite = suites[cipher];
    summary.suite = suite?.name ?? `0x${cipher.toString(16)}`;
    if (summary.version !== "TLS 1.3") failures.c2s = failures.s2c = `${summary.version}: the tap reads TLS 1.3 only`;
    else if (!suite) failures.c2s = failures.s2c = `cipher suite ${summary.suite}: not one the tap reads`;
  };

  /** The secrets of a direction, once the key log has them (`now`: read the log now). */
  const keyOf = (dir: Direction, now = false): TrafficKey | undefined => {
    if (keys[dir]) return keys[dir];
    if (!clientRandom || !suite) return undefined;
    const secret = keyLog.secrets(clientRandom, now)?.[dir === "c2s" ? "client" : "server"];
    if (!secret) return undefined;
    summary.secrets = true;
    keys[dir] = trafficKey(suite, secret);
    return keys[dir];
  };

  /** Opens what waits in a direction, in order, as far as the secrets go. */
  const openWaiting = (dir: Direction, now = false): Piece<M>[] => {
    const out: Piece<M>[] = [];
    const s = suite;
    if (!s) return out;
    while (waiting[dir].length > 0 && !failures[dir]) {
      const key = keyOf(dir, now);
      if (!key) break;
      const record = waiting[dir].shift();
      if (!record) break;
      const plain = open(s, key, record.header, record.body);
      if (!plain) {
        // A handshake record (sealed with the handshake keys) before the first application record.
        if (!started[dir]) continue;
        failures[dir] = `TLS record ${key.seq} does not open with the logged secret`;
        break;
      }
      started[dir] = true;
      key.seq++;
      let end = plain.length;
      while (end > 0 && plain[end - 1] === 0) end--;
      const type = plain[end - 1];
      const content = plain.subarray(0, end - 1);
      if (type === applicationData) out.push({ data: content, meta: record.meta });
      else if (type === handshake && content[0] === 24) {
        // KeyUpdate (RFC 8446 4.6.3): the sender's next records use the next secret.
        keys[dir] = trafficKey(s, expandLabel(s.hash, key.secret, "traffic upd", s.hashLength));
      }
      // NewSessionTicket and alerts carry no HTTP/2.
    }
    return out;
  };

  return {
    summary,
    push(dir, chunk, meta) {
      buffered[dir] = buffered[dir].length === 0 ? chunk : Buffer.concat([buffered[dir], chunk]);
      let data = buffered[dir];
      while (data.length >= 5) {
        const length = data.readUInt16BE(3);
        if (data.length < 5 + length) break;
        const header = data.subarray(0, 5);
        const body = data.subarray(5, 5 + length);
        data = data.subarray(5 + length);
        const type = header[0];
        if (type === handshake) readHello(dir, body);
        else if (type === applicationData) waiting[dir].push({ header, body, meta });
        else if (type !== changeCipherSpec && type !== alert) failures[dir] ??= `not TLS (record type ${type})`;
      }
      buffered[dir] = data;
      return openWaiting(dir);
    },
    drain() {
      return (["c2s", "s2c"] as const).flatMap((dir) => openWaiting(dir, true).map((piece) => ({ dir, piece })));
    },
    failure(dir) {
      if (failures[dir]) return failures[dir];
      if (waiting[dir].length > 0 && !keyOf(dir)) {
        return clientRandom ? "TLS: no secrets logged for this connection" : "TLS: no ClientHello seen";
      }
      return undefined;
    },
  };
}
