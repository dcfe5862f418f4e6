import type { CallsRecord } from "../../lib/run-calls.ts";
import { type ClientStack, clientStacks, type ServerStack } from "../catalogue/stacks.ts";
import { type Child, spawnChild } from "../engine/child-process.ts";
import { commandResult } from "../engine/command-client.ts";
import { clientTlsArgs, type LabTls, serverTlsArgs } from "../engine/lab-tls.ts";
import { type RunningServer, startServer } from "../engine/server-pool.ts";
import { within } from "../engine/within.ts";

/** What the first start and the first call of the user's server showed. */
export interface Preflight {
  /** From the command's start to its port accepting, ms. */
  startMs: number;
  /** The one call's record (none without a method: the user's client calls). */
  record?: CallsRecord;
  /** It answers grpc.health.v1.Health/Check with SERVING (HAProxy's checks and client-side health checking need it). */
  health: boolean;
}

/** How long the one call may take before the lab gives up on it, ms. */
const callTimeoutMs = 15_000;

/**
 * Starts the user's server once, then `during` (server reflection, where the
 * schema comes from it), then one call of the method with connect-node:
 * the lab learns how long the server takes to start, and that the call works
 * at all, before any fault. Throws one line when the command does not start,
 * does not listen on its port, or the call fails; the server is stopped
 * either way.
 */
export async function preflight(
  stack: ServerStack,
  method: string | undefined,
  callArgs: string[] | undefined,
  tls: LabTls | undefined,
  during?: (address: string) => Promise<void>,
): Promise<Preflight> {
  const started = performance.now();
  const server = await startServer(stack, ["--port", "0", ...serverTlsArgs(tls)], 0, [], true);
  const startMs = Math.round(performance.now() - started);
  try {
    const host = server.host ?? "127.0.0.1";
    await during?.(`${host.includes(":") ? `[${host}]` : host}:${server.port}`);
    const client = clientStacks.find((c) => c.id === "connect/grpc");
    if (!client) throw new Error("no connect/grpc client stack");
    const run = (args: string[]) =>
      spawnChild({
        entry: client.program,
        args: [
          ...(server.host ? ["--host", server.host] : []),
          ...[
            "--port",
            String(server.port),
            "--protocol",
            stack.protocols[0],
            ...clientTlsArgs(tls),
            ...args,
            "--json",
          ],
        ],
        account: "preflight call",
      });
    const check = run(["--health", "--timeout-ms", "2000"]);
    const health = (await check.exited).code === 0;
    if (!method || !callArgs) return { startMs, health };
    const call = run(callArgs);
    const exit = await within(call.exited, callTimeoutMs);
    if (!exit) {
      await call.stop();
      throw new Error(`your server did not answer ${method} within ${callTimeoutMs / 1000} s`);
    }
    const last = call.lines[call.lines.length - 1]?.text ?? "";
    let record: CallsRecord;
    try {
      record = JSON.parse(last) as CallsRecord;
    } catch {
      throw new Error(`the lab's client could not call your server: ${call.stderr().trim().split("\n").pop()}`);
    }
    if (record.code !== "ok") {
      throw new Error(
        `your server answered ${method} with ${record.code}${record.message ? ` "${record.message}"` : ""}: the lab needs a call that works before it breaks anything`,
      );
    }
    return { startMs, record, health };
  } finally {
    await server.child.stop();
  }
}

/**
 * Runs the user's client command once against a healthy server (the user's,
 * or the lab's Connect server): it must make its call and end by itself
 * within `limitMs`, or no run of it could say anything. Throws one line when
 * it does not end (it is killed, with its process group) or ends with an
 * error; the server is stopped either way.
 */
export async function preflightClient(
  client: ClientStack,
  server: ServerStack,
  serverArgs: string[],
  limitMs: number,
  tls: LabTls | undefined,
): Promise<{ code: string; ms: number }> {
  const { running, child, started } = await startAgainstHealthy(client, server, serverArgs, tls);
  try {
    const exit = await within(child.exited, limitMs);
    if (!exit) {
      await child.stop();
      throw new Error(
        `your client command did not end within ${limitMs / 1000} s of a call to a healthy server: it must end when its call ends`,
      );
    }
    const ms = Math.round(performance.now() - started);
    const result = commandResult(child.lines[child.lines.length - 1]?.text ?? "", exit, child.stderr());
    if (result.code !== "ok") {
      throw new Error(
        `your client command ended ${result.code}${result.message ? ` (${result.message})` : ""} against a healthy server: the lab needs a call that works before it breaks anything`,
      );
    }
    return { code: result.code, ms };
  } finally {
    await child.stop();
    await running.child.stop();
  }
}

/**
 * Runs the user's channel client command against a healthy server until it
 * has reported two calls ended ok (one JSON line each), then stops it: a
 * command that reports none within `limitMs`, or a failure, cannot be placed
 * on a timeline. Throws one line; everything is stopped either way.
 */
export async function preflightChannelClient(
  client: ClientStack,
  server: ServerStack,
  serverArgs: string[],
  limitMs: number,
  tls: LabTls | undefined,
): Promise<{ calls: number; ms: number }> {
  const { running, child, started } = await startAgainstHealthy(client, server, serverArgs, tls);
  try {
    const results: string[] = [];
    const two = new Promise<void>((resolve) => {
      child.onLine((line) => {
        const { code } = commandResult(line.text, { code: 1, signal: null }, "");
        if (code === "failed") return;
        results.push(code);
        if (results.length >= 2 || code !== "ok") resolve();
      });
    });
    await within(Promise.race([two, child.exited]), limitMs);
    const bad = results.find((c) => c !== "ok");
    if (bad)
      throw new Error(
        `your client channel command reported a call ${bad} against a healthy server: the lab needs calls that work before it breaks anything`,
      );
    if (results.length < 2) {
      const why = child.exit
        ? `it exited (${child.exit.signal ?? `exit ${child.exit.code}`}) after ${results.length} call line(s)`
        : `it printed ${results.length} call line(s) within ${limitMs / 1000} s`;
      throw new Error(
        `your client channel command must make calls until it is stopped, one JSON line each ({"code": ..., "ms": ...}): ${why}`,
      );
    }
    return { calls: results.length, ms: Math.round(performance.now() - started) };
  } finally {
    await child.stop();
    await running.child.stop();
  }
}

/** A healthy server of the lab's, and the user's client command started against it. */
async function startAgainstHealthy(
  client: ClientStack,
  server: ServerStack,
  serverArgs: string[],
  tls: LabTls | undefined,
): Promise<{ running: RunningServer; child: Child; started: number }> {
  const running = await startServer(server, ["--port", "0", ...serverArgs, ...serverTlsArgs(tls)], 0, [], true);
  try {
    const started = performance.now();
    const child = spawnChild({
      entry: client.program,
      args: [
        ...(running.host ? ["--host", running.host] : []),
        ...["--port", String(running.port), "--protocol", client.protocol, ...clientTlsArgs(tls)],
      ],
      account: "preflight client",
    });
    return { running, child, started };
  } catch (e) {
    await running.child.stop();
    throw e;
  }
}
