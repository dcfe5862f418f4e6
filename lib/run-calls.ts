import { setTimeout as sleep } from "node:timers/promises";
import { type CallReporter, type CallResult, createCallReporter } from "./call-report.ts";
import { authority, type ClientSettings } from "./client-flags.ts";

/** What one call ended with: a status code number and its message ("" on ok). */
export interface CallEnd {
  code: number;
  message: string;
  /** The call ended ok, but what it answered is a failure (Check: not SERVING): exit 1. */
  unhealthy?: boolean;
}

export interface RunCallsOptions {
  /** Client stack name for the result record ("connect", "grpc-js"). */
  client: string;
  settings: ClientSettings;
  /**
   * Makes one Chat call: reports each message to `reporter`, ends the call
   * when `signal` aborts (Ctrl-C), and resolves with how it ended.
   */
  call(reporter: CallReporter, signal: AbortSignal): Promise<CallEnd>;
}

/**
 * The part both clients share: --calls calls one after another on the same
 * transport or channel (--call-gap-ms apart), Ctrl-C aborting the call under
 * way, the --json line, and the exit status (0 when the last call ended ok).
 * With several calls the JSON line is the last call's record with the
 * earlier ones in `previousCalls`.
 */
export async function runCalls(options: RunCallsOptions): Promise<never> {
  const { settings } = options;
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  const results: CallResult[] = [];
  let lastEnd: CallEnd | undefined;
  for (let index = 1; index <= settings.calls; index++) {
    if (index > 1 && settings.callGapMs > 0)
      await sleep(settings.callGapMs, undefined, { signal: interrupt.signal }).catch(() => {});
    if (interrupt.signal.aborted && index > 1) break;
    const reporter = createCallReporter({
      client: options.client,
      protocol: settings.protocol,
      target: authority(settings.host, settings.port),
      callNumber: settings.calls > 1 ? { index, of: settings.calls } : undefined,
    });
    const end = await options.call(reporter, interrupt.signal);
    lastEnd = end;
    results.push(reporter.finish(end.code, end.message));
  }
  const last = results[results.length - 1];
  if (settings.json) {
    const record = results.length > 1 ? { ...last, previousCalls: results.slice(0, -1) } : last;
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
  // Exit explicitly: an HTTP/2 session or channel may still hold the event loop.
  process.exit(last.code === "ok" && !lastEnd?.unhealthy ? 0 : 1);
}
