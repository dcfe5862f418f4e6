/**
 * The wire tap's frame decoder against nghttp2's own client (`nghttp -v`,
 * Debian nghttp2-client), which shares no code with the tap nor with the
 * fault peer (issue 10): for the rst-stream, goaway and missing-status
 * faults on all three protocols, the frames nghttp2 says it sent and
 * received are the frames the tap decoded, field by field, headers included.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { buildEntries } from "../engine/build.ts";
import { type Child, spawnChild, stopAllChildren } from "../engine/child-process.ts";
import type { H2Frame } from "./h2-decoder.ts";
import type { TapFrame } from "./relay.ts";
import { createRelay } from "./relay.ts";

const run = promisify(execFile);
const faults = ["rst-stream:8", "rst-stream:2", "goaway:2", "missing-status"] as const;
const protocols = {
  grpc: "application/grpc",
  connect: "application/connect+proto",
  "grpc-web": "application/grpc-web+proto",
} as const;
const body = path.join(tmpdir(), `lab-h2-decoder-${process.pid}.bin`);

let peer: Child;
const ports = new Map<string, number>();
before(async () => {
  await buildEntries();
  // An empty Chat request: a 5-byte envelope.
  writeFileSync(body, Buffer.alloc(5));
  peer = spawnChild({
    entry: "peers/fault-peer",
    args: ["--port", "0", "--fault", faults.join(","), "--delay-ms", "50"],
  });
  for (const fault of faults) {
    const line = await peer.waitForLine(new RegExp(`fault-peer ${fault}\\)$`), 10_000);
    ports.set(fault, Number(/:(\d+) /.exec(line.text)?.[1]));
  }
});
after(() => stopAllChildren());

/** One frame as nghttp -v prints it. */
interface Printed {
  dir: "c2s" | "s2c";
  type: string;
  length: number;
  flags: number;
  stream: number;
  error?: string;
  lastStreamId?: number;
  headers: [string, string][];
}

/** Parses nghttp -v: `[t] send|recv TYPE frame <length=N, flags=0xHH, stream_id=S>` and the lines under it. */
function parseNghttp(output: string): Printed[] {
  const frames: Printed[] = [];
  let recvHeaders: [string, string][] = [];
  let last: Printed | undefined;
  for (const line of output.split("\n")) {
    const frame = /^\[\s*[\d.]+\] (send|recv) (\w+) frame <length=(\d+), flags=0x([0-9a-f]+), stream_id=(\d+)>/.exec(
      line,
    );
    const received = /^\[\s*[\d.]+\] recv \(stream_id=\d+\) ([^:]*:?[^:]*): (.*)$/.exec(line);
    if (frame) {
      last = {
        dir: frame[1] === "send" ? "c2s" : "s2c",
        type: frame[2],
        length: Number(frame[3]),
        flags: Number.parseInt(frame[4], 16),
        stream: Number(frame[5]),
        // Received header fields come before their frame's line; sent ones after it.
        headers: frame[1] === "recv" ? recvHeaders : [],
      };
      recvHeaders = [];
      frames.push(last);
    } else if (received) {
      recvHeaders.push([received[1], received[2]]);
    } else if (last && /^\s+\(/.test(line)) {
      const error = /error_code=(\w+)\(/.exec(line);
      if (error) last.error = error[1];
      const lastStream = /last_stream_id=(\d+)/.exec(line);
      if (lastStream) last.lastStreamId = Number(lastStream[1]);
    } else if (last?.dir === "c2s" && last.type === "HEADERS") {
      const field = /^\s{10}([^ ;(][^:]*:?[^:]*): (.*)$/.exec(line);
      if (field) last.headers.push([field[1], field[2]]);
    }
  }
  return frames;
}

/** The flag bits of a decoded frame, as the wire had them. */
function flagBits(frame: H2Frame): number {
  const bits: Record<string, number> = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 };
  return frame.flags.reduce((n, name) => n | (bits[name] ?? 0), 0);
}

function comparable(frame: TapFrame | Printed) {
  const decoded = "at" in frame;
  return {
    dir: frame.dir,
    type: frame.type,
    length: frame.length,
    flags: decoded ? flagBits(frame as TapFrame) : (frame as Printed).flags,
    stream: frame.stream,
    error: frame.error,
    lastStreamId: frame.type === "GOAWAY" ? frame.lastStreamId : undefined,
    // The fields nghttp prints; it leaves out the pseudo-header order nowhere, so compare as given.
    headers: frame.type === "HEADERS" ? frame.headers : undefined,
  };
}

describe("the tap decodes what nghttp2 sends and receives", { concurrency: true }, () => {
  for (const fault of faults) {
    for (const [protocol, contentType] of Object.entries(protocols)) {
      test(`${fault}, ${protocol}`, async () => {
        const relay = await createRelay({ targetPort: ports.get(fault) ?? 0 });
        try {
          const url = `http://127.0.0.1:${relay.port}/chat.v1.ChatService/Chat`;
          const { stdout } = await run(
            "nghttp",
            ["-v", "-n", "-d", body, "-H", `content-type: ${contentType}`, "-H", "te: trailers", url],
            { timeout: 10_000 },
          ).catch((e: { stdout?: string; code?: string | number }) => {
            if (e.code === "ENOENT") throw new Error("nghttp not found: install Debian's nghttp2-client");
            // nghttp exits non-zero when a stream is reset; its output is what we want.
            return { stdout: e.stdout ?? "" };
          });
          // Let the relay read the last bytes nghttp sent before it exited.
          for (let i = 0; i < 50 && relay.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
          const printed = parseNghttp(stdout);
          const decoded = relay.connections[0]?.frames ?? [];
          assert.ok(printed.length > 5, `nghttp printed ${printed.length} frames:\n${stdout}`);
          for (const dir of ["c2s", "s2c"] as const) {
            const mine = decoded.filter((f) => f.dir === dir).map(comparable);
            const theirs = printed.filter((f) => f.dir === dir).map(comparable);
            // nghttp exits once its stream is over; the server's last frames (its GOAWAY answering
            // nghttp's) reach the relay after that, so what nghttp received is a prefix of what passed.
            assert.deepEqual(dir === "s2c" ? mine.slice(0, theirs.length) : mine, theirs, `${dir} frames`);
          }
          // And the fault itself, as the tap reads it.
          const s2c = decoded.filter((f) => f.dir === "s2c");
          if (fault.startsWith("rst-stream")) {
            const rst = s2c.find((f) => f.type === "RST_STREAM");
            assert.equal(rst?.errorCode, Number(fault.split(":")[1]));
            assert.ok(!s2c.slice(0, s2c.indexOf(rst as TapFrame)).some((f) => f.flags.includes("END_STREAM")));
          } else if (fault === "goaway:2") {
            const goaway = s2c.find((f) => f.type === "GOAWAY");
            assert.equal(goaway?.error, "INTERNAL_ERROR");
            assert.equal(goaway?.lastStreamId, 13, "nghttp's request is stream 13");
          } else {
            const withStatus = s2c.filter((f) => f.status);
            assert.ok(
              withStatus.every((f) => f.status?.code === null),
              "no status on the wire",
            );
            assert.ok(s2c.some((f) => f.flags.includes("END_STREAM")));
          }
        } finally {
          await relay.close();
        }
      });
    }
  }
});

/** Runs nghttp -v through a fresh relay to the fault peer; returns what it printed and what the tap decoded. */
async function throughTap(args: string[], urls: (port: number) => string[]) {
  const relay = await createRelay({ targetPort: ports.get("rst-stream:8") ?? 0 });
  try {
    const { stdout } = await run("nghttp", ["-v", "-n", ...args, ...urls(relay.port)], { timeout: 10_000 }).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }),
    );
    for (let i = 0; i < 50 && relay.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return { printed: parseNghttp(stdout), connection: relay.connections[0] };
  } finally {
    await relay.close();
  }
}

// The dynamic table as the two ends size it (issue 14: nginx announces a table of 0 to its upstream,
// and the server's encoder then sends a size update that the tap must accept).
describe("the tap follows the HPACK table as the ends size it", { concurrency: true }, () => {
  test("a table the decoding end sized to 0: the encoder's size update is accepted", async () => {
    const { printed, connection } = await throughTap(
      ["-c", "0", "-d", body, "-H", `content-type: ${protocols.grpc}`],
      (port) => [`http://127.0.0.1:${port}/chat.v1.ChatService/Chat`],
    );
    assert.deepEqual(connection?.undecodable, {});
    const mine = connection?.frames.filter((f) => f.dir === "s2c").map(comparable) ?? [];
    const theirs = printed.filter((f) => f.dir === "s2c").map(comparable);
    assert.ok(theirs.some((f) => f.type === "HEADERS"));
    assert.deepEqual(mine.slice(0, theirs.length), theirs);
  });
});
