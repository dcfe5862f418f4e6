import { codeName } from "./status-code.ts";
import { epochMs } from "./wall-clock.ts";

/**
 * The one JSON object a client prints as its last stdout line with --json,
 * and the record the lab keeps per run.
 */
export interface CallResult {
  /** Which client stack made the call: "connect" or "grpc-js". */
  client: string;
  /** The wire protocol: "grpc", "connect" or "grpc-web". */
  protocol: string;
  /** The status code's name as the Connect protocol writes it, e.g. "unavailable". */
  code: string;
  /** The same code as a gRPC status number. */
  grpcCode: number;
  /** The error message, "" on ok. */
  message: string;
  /** How many messages arrived. */
  received: number;
  /** Ms from the start of the call to the first message, or null if none came. */
  firstMessageMs: number | null;
  /** Ms from the start of the call to its end. */
  elapsedMs: number;
  /** Ms from the start of the call to each message's arrival. */
  arrivalsMs: number[];
  /**
   * When the call ended, in ms since the epoch with sub-ms precision
   * (lib/wall-clock.ts), so that another process
   * on the machine can time this end against its own events without the
   * delay of reading this line.
   */
  endedAt: number;
}

export interface CallReporterOptions {
  /** Client stack name for the result record. */
  client: string;
  /** Protocol for the result record. */
  protocol: string;
  /** host:port called, for the first line. */
  target: string;
  /** Which call this is, when a client makes several (--calls). */
  callNumber?: { index: number; of: number };
  /** Where the human-readable lines go. Default: stdout. */
  out?: (line: string) => void;
  /** Told of each message as it arrives, with the moment (ms since the epoch): the client agent's events. */
  onMessage?: (index: number, text: string, atEpochMs: number) => void;
  /** Told when the call starts (ms since the epoch). */
  onStart?: (atEpochMs: number) => void;
  /** The call starts later than now, when started() says (a browser page). Default: false. */
  startsLate?: boolean;
}

export interface CallReporter {
  /**
   * Records and prints the arrival of a message; `at`: when, as
   * performance.now(), where the client's own clock said so (a browser
   * page's). Default: now.
   */
  message(index: number, text: string, sentAt: Date | undefined, at?: number): void;
  /** Prints the summary line and returns the result record; `at` as for message(). */
  finish(code: number, message: string, at?: number): CallResult;
  /** The call started at `at` (performance.now()), later than the reporter was made: a browser loaded its page first. */
  started(at: number): void;
}

/**
 * Prints what a client sees, the same way for every client stack, so that
 * their outputs can be compared line by line and parsed by the lab.
 * Message lines read `[   12 ms] message 1: ...`.
 */
export function createCallReporter(options: CallReporterOptions): CallReporter {
  let start = performance.now();
  if (!options.startsLate) options.onStart?.(epochMs(start));
  const arrivalsMs: number[] = [];
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const which = options.callNumber ? `, call ${options.callNumber.index} of ${options.callNumber.of}` : "";
  out(`calling ${options.target} with ${options.client}, protocol ${options.protocol} (pid ${process.pid}${which})`);
  return {
    started(at) {
      start = at;
      options.onStart?.(epochMs(at));
    },
    message(index, text, sentAt, at) {
      const now = at ?? performance.now();
      const ms = Math.round(now - start);
      arrivalsMs.push(ms);
      options.onMessage?.(index, text, epochMs(now));
      const sent = sentAt ? ` (server sent it at ${sentAt.toISOString().slice(11, 23)})` : "";
      out(`[${String(ms).padStart(6)} ms] message ${index}: ${JSON.stringify(text)}${sent}`);
    },
    finish(code, message, at) {
      const end = at ?? performance.now();
      const elapsedMs = Math.round(end - start);
      const result: CallResult = {
        client: options.client,
        protocol: options.protocol,
        code: codeName(code),
        grpcCode: code,
        message,
        received: arrivalsMs.length,
        firstMessageMs: arrivalsMs[0] ?? null,
        elapsedMs,
        arrivalsMs,
        endedAt: epochMs(end),
      };
      const detail = message ? ` ${JSON.stringify(message)}` : "";
      out(
        `[${String(elapsedMs).padStart(6)} ms] ended: ${result.code} (${code})${detail}, ${result.received} message(s) received`,
      );
      return result;
    },
  };
}
