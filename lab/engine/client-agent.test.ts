/**
 * A client agent that dies in the middle of a lab run: its runs become lab
 * errors that say why, never findings, and a new agent takes the later runs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { tooBusy } from "../faults/evidence.ts";
import type { LabResults } from "../reports/results.ts";
import { commandLine, descendants, establishedTcp } from "../testing/processes.ts";
import { projectRoot } from "./build.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "agent-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("SIGKILL to the connect agent mid-run: its calls are lab errors naming the death, a new agent takes over", async () => {
  const out = path.join(scratch, "out");
  const lab = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(projectRoot, "lab", "main.ts"),
      // Only faults whose calls hang until the watchdog, so that a connection the agent holds is a
      // call under way. One agent (one stack, one protocol), so that the one killed has runs under way.
      ...["--quick", "--cases", "stall,blackhole", "--servers", "connect,grpc-js"],
      ...["--clients", "connect/grpc", "--repeat", "10", "--jobs", "6"],
      ...["--out", out],
    ],
    { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  lab.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  // Read and dropped: a full pipe would stall the lab.
  lab.stdout?.resume();
  const closed = new Promise<number | null>((resolve) => lab.on("close", resolve));
  let killed: number | undefined;
  try {
    // The first connect agent, once the kernel shows it holding a connection (a stalled or
    // blackholed call: none ends before the watchdog), and a moment more for the rest to start.
    for (let tries = 0; tries < 800 && killed === undefined; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const agent = descendants(lab.pid ?? -1).find((p) => /client\.cjs --agent/.test(commandLine(p)));
      if (agent !== undefined && establishedTcp(agent) > 0) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        process.kill(agent, "SIGKILL");
        killed = agent;
      }
    }
    assert.ok(killed !== undefined, "saw the connect agent");
    const status = await closed;
    assert.equal(status, 0, stderr);
  } finally {
    if (lab.exitCode === null) lab.kill("SIGKILL");
  }
  const results = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as LabResults;
  const runs = results.cells.flatMap((cell) => cell.runs);
  // A run under way when the agent died is a lab error naming the death; one still waiting for its
  // message 1 then is tried again (the lab retries what proved nothing), and keeps why.
  const death = new RegExp(`the connect/\\S+ agent \\(pid ${killed}\\) died \\(SIGKILL\\)`);
  const died = runs.filter((run) => run.code === "lab-error");
  const touched = runs.filter((run) => [run.message, ...(run.retried ?? [])].some((m) => death.test(m)));
  assert.ok(touched.length > 0, "some runs were under way when the agent died");
  // (Or, beside the suite's other files, a run the machine mistimed: not the agent's doing.)
  for (const run of died) assert.match(run.message, new RegExp(`${death.source}|${tooBusy}`));
  // The rest are findings, made by its successor.
  assert.ok(runs.length - died.length > died.length, `${died.length} of ${runs.length} runs lost`);
  // One agent per client stack: the killed one's stack has a successor of its own.
  const said = [touched[0].message, ...(touched[0].retried ?? [])].find((m) => death.test(m)) ?? "";
  const stack = new RegExp(`the (connect/\\S+) agent \\(pid ${killed}\\)`).exec(said)?.[1];
  const successor = results.meta.agents.filter((a) => a.stack === stack);
  assert.equal(successor.length, 1, `${stack}'s agents: ${JSON.stringify(results.meta.agents)}`);
  assert.notEqual(successor[0].pid, killed);
  assert.ok(successor[0].calls > 0);
});
