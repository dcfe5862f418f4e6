/**
 * `--browsers` (issue 19), as a user runs it: connect-web in Debian's
 * headless Chromium and Firefox ESR, over TLS, on the cases a page meets
 * most (the server killed, a suspended server with a deadline, a reset
 * connection, a peer's RST_STREAM(CANCEL)), each fault proven on the wire,
 * with the codes a page's ConnectError gets beside connect-node's. Run after
 * the main suite (package.json): two browsers loading pages slowed the
 * timing-bound tests beside them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { runLabChecked, startLab } from "../../lab/testing/lab-cli.ts";
import { commandLine, descendants, processState } from "../../lab/testing/processes.ts";
import { browserExecutable, browserKinds } from "./browsers.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "lab-browsers-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** What each browser's fetch says when the stream under it breaks (the message connect-web passes on). */
const networkError: Record<string, string> = { chromium: "network error", firefox: "Error in input stream" };

test("a page's calls: crash, reset and RST_STREAM(CANCEL) all read unknown, a deadline deadline_exceeded", {
  skip: browserKinds.every((kind) => browserExecutable(kind))
    ? false
    : "a browser is not installed (scripts/install-debian.sh)",
}, async () => {
  const results = await runLabChecked(
    [
      "--browsers",
      "--cases",
      "crash,suspend+deadline,reset,rst-stream:8",
      "--clients",
      "chromium,firefox,connect/connect",
      "--repeat",
      "1",
      // Each browser's scenes hold 3 of its runs at most: more at once shortens the test.
      "--jobs",
      "16",
    ],
    path.join(scratch, "browsers"),
  );
  assert.equal(results.meta.tls, true);
  const pages = results.cells.filter((cell) => cell.client === "chromium" || cell.client === "firefox");
  assert.equal(pages.length, 4 * 4, "each case, each browser, each protocol");
  for (const cell of pages) {
    const run = cell.runs[0];
    const where = `${cell.case} ${cell.client}/${cell.protocol}`;
    assert.deepEqual(run.evidence.missing, [], where);
    assert.ok(run.evidence.checked, where);
    if (cell.case === "suspend+deadline") {
      assert.equal(run.code, "deadline_exceeded", where);
    } else {
      // The page cannot tell a killed server from a reset connection or a cancelled stream.
      assert.equal(run.code, "unknown", where);
      assert.equal(run.message, networkError[cell.client], where);
    }
  }
  // Beside them, connect-node on the same protocols tells them apart.
  const node = (name: string) =>
    results.cells.filter((cell) => cell.case === name && cell.client === "connect").map((cell) => cell.runs[0].code);
  assert.ok(
    node("rst-stream:8").every((code) => code === "canceled"),
    `connect-node rst-stream:8: ${node("rst-stream:8")}`,
  );
  assert.ok(
    node("reset").every((code) => code === "aborted"),
    `connect-node reset: ${node("reset")}`,
  );
});

test("the lab killed (SIGKILL) while its browsers start: within 5 s no browser process is left", {
  skip: browserKinds.every((kind) => browserExecutable(kind))
    ? false
    : "a browser is not installed (scripts/install-debian.sh)",
}, async () => {
  // puppeteer starts each browser in a process group of its own: only the lab's tree kill
  // (lab/engine/child-process.ts `tree`, and the supervisor's) ends one that has not said ready.
  const lab = startLab(["--browsers", "--cases", "suspend", "--out", path.join(scratch, "killed")]);
  const pid = lab.pid ?? -1;
  const closed = new Promise((resolve) => lab.on("close", resolve));
  const seen = new Set<number>();
  // The browsers' own programs (not the agents, whose flags name them), each seen before it said ready.
  const program = (p: number) => commandLine(p).split(" ")[0];
  const started = (kind: string) => [...seen].some((p) => new RegExp(`/${kind}[^/]*$`).test(program(p)));
  for (let tries = 0; tries < 800 && !(started("chromium") && started("firefox")); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    for (const child of descendants(pid)) seen.add(child);
  }
  assert.ok(started("chromium") && started("firefox"), "both browsers were starting");
  lab.kill("SIGKILL");
  await closed;
  let left = [...seen];
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter((p) => processState(p) !== undefined && processState(p) !== "Z");
  }
  assert.deepEqual(left.map(commandLine), [], "processes left behind 5 s after the lab died");
});
