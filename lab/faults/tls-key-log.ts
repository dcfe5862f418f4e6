/**
 * The TLS key log the lab's peers write (issue 19): one line per secret,
 * "LABEL CLIENT_RANDOM SECRET" in hex (the NSS key log format Node's
 * `--tls-keylog`, Chromium's and Firefox's SSLKEYLOGFILE and tshark all
 * use). The tap reads it to decrypt what passes through the relay; the
 * peers see nothing of it.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import * as path from "node:path";

/** The TLS 1.3 application traffic secrets of one connection, by who sends with them. */
export interface TrafficSecrets {
  client?: Buffer;
  server?: Buffer;
}

export interface TlsKeyLog {
  /**
   * The secrets logged for a connection, by its ClientHello's random (hex);
   * reads new lines first if it has none yet (at most every `rereadMs`,
   * unless `now`: a reader that is about to judge what it read).
   */
  secrets(clientRandom: string, now?: boolean): TrafficSecrets | undefined;
}

export interface TlsKeyLogOptions {
  /** The folder whose files (every file in it) the peers append their key log lines to. */
  dir: string;
  /** Reads the files again at most this often when a connection's secrets are missing, ms. Default: 20. */
  rereadMs?: number;
}

export function createTlsKeyLog(options: TlsKeyLogOptions): TlsKeyLog {
  const rereadMs = options.rereadMs ?? 20;
  const known = new Map<string, TrafficSecrets>();
  /** Bytes read so far of each file, and an unfinished last line. */
  const files = new Map<string, { offset: number; rest: string }>();
  let readAt = Number.NEGATIVE_INFINITY;

  const take = (line: string) => {
    const [label, random, secret] = line.trim().split(" ");
    if (!random || !secret) return;
    const side = label === "CLIENT_TRAFFIC_SECRET_0" ? "client" : label === "SERVER_TRAFFIC_SECRET_0" ? "server" : "";
    if (!side) return;
    const entry = known.get(random.toLowerCase()) ?? {};
    entry[side] = Buffer.from(secret, "hex");
    known.set(random.toLowerCase(), entry);
  };

  const reread = () => {
    readAt = performance.now();
    let names: string[];
    try {
      names = readdirSync(options.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(options.dir, name);
      const state = files.get(file) ?? { offset: 0, rest: "" };
      files.set(file, state);
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      if (size <= state.offset) continue;
      const buffer = Buffer.alloc(size - state.offset);
      const fd = openSync(file, "r");
      try {
        readSync(fd, buffer, 0, buffer.length, state.offset);
      } finally {
        closeSync(fd);
      }
      state.offset = size;
      const lines = (state.rest + buffer.toString("latin1")).split("\n");
      state.rest = lines.pop() ?? "";
      for (const line of lines) take(line);
    }
  };

  return {
    secrets(clientRandom, now = false) {
      const have = known.get(clientRandom);
      if (have?.client && have.server) return have;
      if (now || performance.now() - readAt >= rereadMs) reread();
      return known.get(clientRandom);
    },
  };
}
