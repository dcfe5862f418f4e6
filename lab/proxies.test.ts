/**
 * The lab behind real proxies (issue 14), as a user runs it: its CLI as a
 * real process, --quick timings, per proxy the cases whose outcome a user
 * acts on, with the wire evidence of both hops read from results.json.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { proxyStacks, proxyVersions } from "./catalogue/proxies.ts";
import { quickSettings } from "./catalogue/settings.ts";
import type { RunRecord, WireRecord } from "./reports/run-record.ts";
import { assertLabOk, runLab, runLabChecked } from "./testing/lab-cli.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "lab-proxies-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const hop = (run: RunRecord, name: WireRecord["hop"]) => (run.wire ?? []).filter((c) => c.hop === name);
const clients = ["connect/grpc", "grpc-js/grpc"];

describe("behind each proxy, --quick", { concurrency: true }, () => {
  for (const proxy of proxyStacks) {
    const installed = proxyVersions().get(proxy.id) !== undefined;
    test(`${proxy.id}: keepalive ends nothing, the proxy's timeout does, its code is its own; keepalive still guards the client's hop`, {
      skip: installed ? false : `${proxy.id} is not installed (scripts/install-debian.sh)`,
    }, async () => {
      const cases = ["suspend+keepalive", "crash", "suspend+upstream-timeout", "blackhole-downstream+keepalive"];
      const results = await runLabChecked(
        ["--quick", "--cases", cases.map((c) => `${proxy.id}/${c}`).join(","), "--clients", clients.join(",")],
        path.join(scratch, proxy.id),
      );
      assert.match(results.meta.versions[proxy.id] ?? "", /^\d+\.\d+/);
      const code = (name: string) =>
        results.cells
          .filter((cell) => cell.case === `${proxy.id}/${name}`)
          .map((cell) => `${cell.client}/${cell.protocol} ${cell.runs.map((run) => run.code).join(",")}`);

      // The server is suspended; the client's PINGs are answered all the same, by the proxy.
      assert.deepEqual(
        code("suspend+keepalive"),
        clients.map((c) => `${c} hang`),
      );
      for (const cell of results.cells.filter((c) => c.case === `${proxy.id}/suspend+keepalive`)) {
        const run = cell.runs[0];
        const pings = hop(run, "client-proxy").flatMap((c) => c.frames.filter((f) => f.type === "PING" && f.t > 0));
        const sent = pings.filter((f) => f.dir === "c2s" && !f.flags?.includes("ACK"));
        const acked = pings.filter((f) => f.dir === "s2c" && f.flags?.includes("ACK"));
        assert.ok(sent.length >= 2, `${cell.client}: ${sent.length} PINGs after the fault`);
        assert.ok(acked.length >= sent.length - 1, `${cell.client}: ${acked.length} ACKs for ${sent.length} PINGs`);
        // What the server wrote before it stopped may reach the relay later on a loaded machine (a
        // message 49 ms after the fault, in CI): a running server's next message comes an interval on.
        const fromServer = hop(run, "proxy-server").flatMap((c) =>
          c.frames.filter((f) => f.dir === "s2c" && f.t > quickSettings.intervalMs),
        );
        assert.deepEqual(fromServer, [], `${cell.client}: the suspended server sent something`);
        const forwarded = hop(run, "proxy-server").flatMap((c) => c.frames.filter((f) => f.type === "PING"));
        assert.deepEqual(forwarded, [], `${cell.client}: a PING crossed the proxy`);
      }

      // The server gone or silent past the proxy's timeout: what each proxy says, measured on the wire.
      const gone = proxy.id === "nginx" ? "RST_STREAM" : "DATA";
      for (const name of ["crash", "suspend+upstream-timeout"]) {
        assert.deepEqual(
          code(name),
          clients.map((c) => `${c} internal`),
          name,
        );
        for (const cell of results.cells.filter((c) => c.case === `${proxy.id}/${name}`)) {
          const end = hop(cell.runs[0], "client-proxy")
            .flatMap((c) => c.frames)
            .find((f) => f.dir === "s2c" && f.t >= 0 && (f.type === "RST_STREAM" || f.flags?.includes("END_STREAM")));
          assert.equal(end?.type, gone, `${name}, ${cell.client}: ${JSON.stringify(end)}`);
          assert.equal(end?.status, undefined, `${name}: a status reached the client`);
          if (gone === "RST_STREAM") assert.equal(end?.error, "INTERNAL_ERROR");
        }
      }
      // The proxy's timeout ends it, within its 250 ms of silence (counted from its last read of the server).
      for (const cell of results.cells.filter((c) => c.case === `${proxy.id}/suspend+upstream-timeout`)) {
        const ms = cell.runs[0].detectMs ?? 0;
        assert.ok(ms < 600, `${cell.client}: detected after ${ms} ms (upstream timeout 250 ms)`);
      }

      // The client's own hop broken: its keepalive does see that.
      assert.deepEqual(
        code("blackhole-downstream+keepalive"),
        clients.map((c) => `${c} unavailable`),
      );
    });
  }

  test("without nginx and HAProxy the lab runs the rest and says in one line how to add them", async () => {
    // Both live in /usr/sbin on Debian: a PATH without it is a machine without them.
    const env = {
      ...process.env,
      PATH: (process.env.PATH ?? "")
        .split(":")
        .filter((d) => !d.endsWith("sbin"))
        .join(":"),
    };
    const r = await runLab(
      [
        "--quick",
        "--cases",
        "normal,proxy",
        "--clients",
        "connect/grpc",
        "--tables",
        "--out",
        path.join(scratch, "none"),
      ],
      env,
    );
    assertLabOk(r, path.join(scratch, "none"));
    const lines = r.stderr.split("\n").filter((l) => l.includes("proxy group"));
    assert.deepEqual(lines, [
      "lab: proxy group: nginx and haproxy skipped, not installed (Debian/Ubuntu, as root: apt-get install -y nginx haproxy)",
    ]);
    assert.match(r.stdout, /\| normal \| ok /);
    assert.doesNotMatch(r.stdout, /nginx\/|haproxy\//);
  });
});
