import { setTimeout as sleep } from "node:timers/promises";
import { type CallResult, createCallReporter } from "./call-report.ts";
import type { CallEnd, Caller } from "./caller.ts";
import { authority, type CallSettings, type ClientSettings } from "./client-flags.ts";

/** A client's record of its calls: the last call's, with the earlier ones in previousCalls (--calls). */
export type CallsRecord = CallResult & { previousCalls?: CallResult[] };

export interface CallSequenceOptions {
  /** Client stack name for the result record ("connect", "grpc-js"). */
  client: string;
  settings: ClientSettings;
  caller: Caller;
  /** Aborts the call under way (Ctrl-C, or the lab giving up) and makes no more. */
  signal: AbortSignal;
  /** Where the human-readable lines go. Default: stdout. */
  out?: (line: string) => void;
  /** A call starts: its number (from 1) and the moment, ms since the epoch. */
  onStart?: (call: number, atEpochMs: number) => void;
  /** A message arrived. */
  onMessage?: (call: number, index: number, text: string, atEpochMs: number) => void;
  /** What each call sets for itself over `settings` (a call on a channel the agent opened). */
  overrides?: Partial<CallSettings>;
}

/**
 * --calls calls one after another on the caller's transport or channel,
 * --call-gap-ms apart: what the CLI and the client agent share. Resolves
 * with the record and how the last call ended.
 */
export async function runCallSequence(options: CallSequenceOptions): Promise<{ record: CallsRecord; last: CallEnd }> {
  const { settings, signal } = options;
  const results: CallResult[] = [];
  let last: CallEnd = { code: 1, message: "no call made" };
  for (let index = 1; index <= settings.calls; index++) {
    if (index > 1 && settings.callGapMs > 0) await sleep(settings.callGapMs, undefined, { signal }).catch(() => {});
    if (signal.aborted && index > 1) break;
    const reporter = createCallReporter({
      client: options.client,
      protocol: settings.protocol,
      target: settings.target ?? authority(settings.host, settings.port),
      callNumber: settings.calls > 1 ? { index, of: settings.calls } : undefined,
      out: options.out,
      onMessage: (i, text, at) => options.onMessage?.(index, i, text, at),
      onStart: (at) => options.onStart?.(index, at),
      startsLate: options.caller.startsLate,
    });
    last = await options.caller.call(reporter, signal, options.overrides);
    results.push(reporter.finish(last.code, last.message, last.at));
  }
  const final = results[results.length - 1];
  return { record: results.length > 1 ? { ...final, previousCalls: results.slice(0, -1) } : final, last };
}

/**
 * The CLI's way: the calls, Ctrl-C aborting the call under way, the --json
 * line, and the exit status (0 when the last call ended ok).
 */
export async function runCalls(options: { client: string; settings: ClientSettings; caller: Caller }): Promise<never> {
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort("interrupted by SIGINT"));
  const { record, last } = await runCallSequence({ ...options, signal: interrupt.signal });
  if (options.settings.json) process.stdout.write(`${JSON.stringify(record)}\n`);
  // Exit explicitly: an HTTP/2 session or channel may still hold the event loop.
  process.exit(record.code === "ok" && !last.unhealthy ? 0 : 1);
}
