/**
 * `--tls` (issue 19), as a user runs it: every Node client over TLS on the
 * cases that need the tap to read inside TLS (a crash, a keepalive that finds
 * a suspended server, a GOAWAY), each fault proven, each outcome one the
 * catalogue states; and the finding TLS adds: a peer that never answers the
 * handshake is found by no keepalive, where over h2c connect-node's finds it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import type { LabResults } from "./reports/results.ts";
import { runLabChecked } from "./testing/lab-cli.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "lab-tls-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const nodeClients = ["connect/grpc", "connect/connect", "connect/grpc-web", "grpc-js/grpc"];
const codes = (results: LabResults, name: string) =>
  results.cells
    .filter((cell) => cell.case === name)
    .map((cell) => `${cell.server}<-${cell.client}/${cell.protocol} ${cell.runs.map((run) => run.code).join(",")}`);

test("over TLS every Node client ends crash, suspend+keepalive and goaway:0 as stated, each fault read inside TLS", async () => {
  const results = await runLabChecked(
    [
      "--quick",
      "--tls",
      "--cases",
      "crash,suspend+keepalive,goaway:0",
      "--servers",
      "connect,grpc-js,fault-peer",
      "--clients",
      nodeClients.join(","),
    ],
    path.join(scratch, "tls"),
  );
  assert.equal(results.meta.tls, true);
  assert.equal(results.cells.length, 4 * 2 + 4 + 4);
  for (const cell of results.cells) {
    const run = cell.runs[0];
    assert.deepEqual(run.evidence.missing, [], `${cell.case} ${cell.client}`);
    // The tap read the call inside TLS: its request and message 1 on the wire.
    const frames = (run.wire ?? []).flatMap((c) => c.frames);
    assert.ok(
      frames.some((f) => f.dir === "c2s" && f.type === "HEADERS"),
      `${cell.case} ${cell.client}: no request read`,
    );
    assert.ok(
      frames.some((f) => f.dir === "s2c" && f.type === "DATA"),
      `${cell.case} ${cell.client}: no message read`,
    );
  }
  // What the rules and the h2c run say, over TLS too.
  assert.deepEqual(codes(results, "suspend+keepalive"), [
    ...nodeClients.map((c) => `connect<-${c} unavailable`),
    "grpc-js<-connect/grpc unavailable",
    "grpc-js<-grpc-js/grpc unavailable",
  ]);
  assert.deepEqual(codes(results, "goaway:0"), [
    ...nodeClients.slice(0, 3).map((c) => `fault-peer<-${c} canceled`),
    "fault-peer<-grpc-js/grpc unavailable",
  ]);
});

test("over TLS a peer that never answers the handshake: connect-node's keepalive, which finds it over h2c, finds nothing", async () => {
  const run = async (tls: boolean) => {
    const results = await runLabChecked(
      ["--quick", ...(tls ? ["--tls"] : []), "--cases", "mute-peer+keepalive", "--clients", "connect/grpc"],
      path.join(scratch, tls ? "mute-tls" : "mute-h2c"),
    );
    const [cell] = results.cells;
    assert.deepEqual(cell.runs[0].evidence.missing, []);
    return { code: cell.runs[0].code, sent: cell.runs[0].wire?.[0]?.bytes.forwarded };
  };
  const [h2c, tls] = await Promise.all([run(false), run(true)]);
  assert.equal(h2c.code, "unavailable");
  assert.equal(tls.code, "hang");
  // Over TLS the client sent its ClientHello and nothing came back.
  assert.ok((tls.sent?.c2s ?? 0) > 0 && tls.sent?.s2c === 0, JSON.stringify(tls.sent));
});
