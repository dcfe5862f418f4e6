export interface ProgressOptions {
  /** Where to write. */
  stream: NodeJS.WriteStream;
  /** Without a terminal, at most one line per this many ms (and the last). Default: 5000. */
  everyMs?: number;
}

export interface Progress {
  /**
   * One run finished: `line` says which and how it ended; `workDone` is the share of the plan's
   * estimated run time done (0-1), from which the ETA is drawn.
   */
  update(done: number, total: number, line: string, workDone: number): void;
  /** Clears the live line. */
  end(): void;
}

/** No ETA before this share of the work is done: the first runs to end say little of the rest. */
const etaFrom = 0.05;

/**
 * A live line on a terminal (runs done of total, elapsed, ETA), rewritten in
 * place; without one (a file, a pipe, CI), a line every few seconds and the
 * last, so that a log stays readable: not a line per run (issue 20).
 */
export function createProgress(options: ProgressOptions): Progress {
  const { stream } = options;
  const everyMs = options.everyMs ?? 5000;
  const start = performance.now();
  const live = stream.isTTY === true;
  let lastLine = Number.NEGATIVE_INFINITY;
  return {
    update(done, total, line, workDone) {
      const now = performance.now();
      const elapsed = (now - start) / 1000;
      const eta = workDone >= etaFrom ? `ETA ${Math.round((elapsed / workDone) * (1 - workDone))} s` : "ETA ...";
      const head = `[runs ${String(done).padStart(String(total).length)}/${total}] ${elapsed.toFixed(1)} s elapsed, ${eta}`;
      if (live) {
        stream.write(`\r\x1b[K${head}  ${line}`.slice(0, (stream.columns || 120) + 4));
      } else if (now - lastLine >= everyMs || done === total) {
        lastLine = now;
        stream.write(`${head}  ${line}\n`);
      }
    },
    end() {
      if (live) stream.write("\r\x1b[K");
    },
  };
}
