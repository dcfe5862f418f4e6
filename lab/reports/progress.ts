export interface ProgressOptions {
  /** Where to write. */
  stream: NodeJS.WriteStream;
}

export interface Progress {
  /** One run finished: `line` says which and how it ended. */
  update(done: number, total: number, line: string): void;
  /** Clears the live line. */
  end(): void;
}

/**
 * A live line on a terminal (runs done of total, elapsed, ETA), rewritten in
 * place; a plain line per run when the output is a file or a pipe, so logs
 * stay readable.
 */
export function createProgress(options: ProgressOptions): Progress {
  const { stream } = options;
  const start = performance.now();
  const live = stream.isTTY === true;
  return {
    update(done, total, line) {
      const elapsed = (performance.now() - start) / 1000;
      const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
      const head = `[runs ${String(done).padStart(String(total).length)}/${total}] ${elapsed.toFixed(1)} s elapsed, ETA ${eta.toFixed(0)} s`;
      if (live) stream.write(`\r\x1b[K${head}  ${line}`.slice(0, (stream.columns || 120) + 4));
      else stream.write(`${head}  ${line}\n`);
    },
    end() {
      if (live) stream.write("\r\x1b[K");
    },
  };
}
