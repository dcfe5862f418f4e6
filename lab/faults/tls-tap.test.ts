/**
 * The wire tap over TLS (issue 19): what the relay reads inside the TLS
 * connections, with the key log the peers write, must be what an
 * independent decoder reads in a capture of the same connections: dumpcap
 * (Wireshark's capture tool) captures the loopback, tshark decrypts it with
 * the same key log and dissects HTTP/2 with its own code. And without a
 * key, the tap says so and reads nothing. (tcpdump -w wrote no packet on
 * these VMs' loopback, "0 packets captured" with 16 received by the filter;
 * dumpcap captured every one.)
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { buildEntries } from "../engine/build.ts";
import { logTlsKeys, spawnChild, startServer, stopAllChildren } from "../engine/child-process.ts";
import { clientTlsArgs, createLabTls, serverTlsArgs } from "../engine/lab-tls.ts";
import type { Program } from "../engine/programs.ts";
import { createRelay, type TapConnection } from "./relay.ts";
import { createTlsKeyLog } from "./tls-key-log.ts";

after(() => stopAllChildren());

/** HTTP/2 frame types by name (RFC 9113 6), as tshark's http2.type gives them. */
const frameTypes: Record<string, number> = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
};

/** One connection's frames per direction, as "type:stream" words. */
type Sequences = Record<"c2s" | "s2c", string[]>;

function tapSequences(conn: TapConnection): Sequences {
  const of = (dir: "c2s" | "s2c") =>
    conn.frames.filter((f) => f.dir === dir).map((f) => `${frameTypes[f.type] ?? f.type}:${f.stream}`);
  return { c2s: of("c2s"), s2c: of("s2c") };
}

test("the tap reads inside TLS what tshark reads in a capture, with the same key log", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lab-tls-tap-"));
  const tls = createLabTls(path.join(dir, "tls"));
  assert.ok(tls.opensslKeyLog, "the OpenSSL key log library was built (cc)");
  logTlsKeys({ dir: tls.keyLogDir, openssl: tls.opensslKeyLog });
  await buildEntries();
  const { port } = await startServer({
    entry: "server",
    args: ["--interval-ms", "30", "--quiet", ...serverTlsArgs(tls)],
  });
  const relay = await createRelay({ targetPort: port, tls: tls.keyLog });
  const pcap = path.join(dir, "tap.pcapng");
  const capture = spawn("dumpcap", ["-q", "-i", "lo", "-f", `tcp port ${relay.port}`, "-w", pcap], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let err = "";
    capture.stderr.on("data", (d) => {
      err += d;
      if (/Capturing on/.test(err)) resolve();
    });
    capture.on("error", reject);
    capture.on("exit", (code) => reject(new Error(`dumpcap exited (${code}): ${err.trim()}`)));
  });
  // A Node client (Node's own key log) and gRPC core on the system's OpenSSL (Debian's grpcio: the
  // OpenSSL key log; PyPI's grpcio carries BoringSSL inside it), one call each.
  const debianGrpcio: Program = { kind: "python", script: "peers/grpcio/client.py", python: "debian" };
  for (const entry of ["client", debianGrpcio] as const) {
    const client = spawnChild({ entry, args: ["--port", String(relay.port), "--json", ...clientTlsArgs(tls)] });
    const exit = await client.exited;
    assert.equal(exit.code, 0, `${entry}: ${client.stderr()}`);
  }
  // libpcap hands packets over in blocks (TPACKET_V3): the last one comes once its timeout passes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  capture.kill("SIGINT");
  await new Promise((resolve) => capture.once("exit", resolve));
  await relay.close();

  // tshark reads one key log: every peer's, together.
  const keys = path.join(dir, "all.keys");
  writeFileSync(
    keys,
    readdirSync(tls.keyLogDir)
      .map((f) => readFileSync(path.join(tls.keyLogDir, f), "utf8"))
      .join(""),
  );
  const tshark = spawnSync(
    "tshark",
    [
      "-r",
      pcap,
      "-o",
      `tls.keylog_file:${keys}`,
      "-d",
      `tcp.port==${relay.port},tls`,
      "-Y",
      "http2",
      "-T",
      "fields",
      "-E",
      "aggregator=;",
      "-e",
      "tcp.srcport",
      "-e",
      "tcp.dstport",
      "-e",
      "http2.type",
      "-e",
      "http2.streamid",
    ],
    { encoding: "utf8" },
  );
  assert.equal(tshark.status, 0, tshark.stderr);
  assert.ok(tshark.stdout.trim(), `tshark read no HTTP/2 in ${pcap}: ${tshark.stderr}`);
  const seen = new Map<number, Sequences>();
  for (const line of tshark.stdout.trim().split("\n")) {
    const [src, dst, types, streams] = line.split("\t");
    const toServer = Number(dst) === relay.port;
    const clientPort = Number(toServer ? src : dst);
    const sequences = seen.get(clientPort) ?? { c2s: [], s2c: [] };
    seen.set(clientPort, sequences);
    const ids = streams.split(";");
    types.split(";").forEach((type, i) => {
      sequences[toServer ? "c2s" : "s2c"].push(`${type}:${ids[i]}`);
    });
  }

  assert.equal(relay.connections.length, 2);
  for (const conn of relay.connections) {
    assert.deepEqual(conn.undecodable, {}, `connection ${conn.id}`);
    assert.equal(conn.tls?.version, "TLS 1.3");
    const tap = tapSequences(conn);
    assert.ok(tap.s2c.filter((w) => w.startsWith("0:")).length >= 3, `the tap read the messages: ${tap.s2c.join(" ")}`);
    assert.deepEqual(tap, seen.get(conn.clientPort), `connection ${conn.id} (client port ${conn.clientPort})`);
  }
});

test("without the peers' secrets the tap reads nothing, and says why", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lab-tls-nokey-"));
  const tls = createLabTls(path.join(dir, "tls"));
  // No process logs its keys: the tap's key log folder stays empty.
  logTlsKeys(undefined);
  await buildEntries();
  const { port } = await startServer({
    entry: "server",
    args: ["--interval-ms", "30", "--quiet", ...serverTlsArgs(tls)],
  });
  const relay = await createRelay({ targetPort: port, tls: createTlsKeyLog({ dir: tls.keyLogDir }) });
  const client = spawnChild({ entry: "client", args: ["--port", String(relay.port), "--json", ...clientTlsArgs(tls)] });
  assert.equal((await client.exited).code, 0, client.stderr());
  await relay.close();
  const [conn] = relay.connections;
  assert.deepEqual(conn.frames, []);
  assert.match(conn.undecodable.s2c ?? "", /no secrets logged/);
  assert.equal(conn.tls?.secrets, false);
});
