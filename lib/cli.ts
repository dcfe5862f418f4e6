import { parseArgs } from "node:util";

/**
 * A bad command line: the program prints its message as one line and exits 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  /** "string" flags take a value, "boolean" flags do not. */
  type: "string" | "boolean";
  /** One line for --help. */
  help: string;
  /** The default as shown in --help; parsing applies defaults itself. */
  default?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type Flags = Record<string, string | boolean | undefined>;

export interface CliOptions {
  /** Name printed before every error line and in --help. */
  program: string;
  /** One line saying what the program does, for --help. */
  summary: string;
  /** The flags the program accepts (--help is added). */
  flags: FlagSpecs;
  /** Command-line words after the program name. Default: process.argv.slice(2). */
  argv?: string[];
}

/**
 * Parses flags with node:util parseArgs (strict: unknown flags and stray
 * positionals are errors). Prints --help and exits 0 when asked.
 */
export function parseFlags(options: CliOptions): Flags {
  const { flags } = options;
  // parseArgs refuses "--port -5" as ambiguous; join a negative number to its flag so the
  // range check below can name the flag and what it accepts.
  const args = [...(options.argv ?? process.argv.slice(2))];
  for (let i = 0; i < args.length - 1; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    if (name && flags[name]?.type === "string" && /^-\d/.test(args[i + 1]))
      args.splice(i, 2, `--${name}=${args[i + 1]}`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: {
        ...Object.fromEntries(Object.entries(flags).map(([name, spec]) => [name, { type: spec.type }])),
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    // parseArgs messages are one line already, and they name the flag.
    throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
  }
  if (parsed.values.help) {
    process.stdout.write(usage(options));
    process.exit(0);
  }
  return parsed.values as Flags;
}

function usage({ program, summary, flags }: CliOptions): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const left = spec.type === "string" ? `--${name} VALUE` : `--${name}`;
    const def = spec.default !== undefined ? ` (default ${spec.default})` : "";
    return `  ${left.padEnd(28)} ${spec.help}${def}`;
  });
  return `${program}: ${summary}\n\nFlags:\n${rows.join("\n")}\n  ${"--help".padEnd(28)} this text\n`;
}

export interface IntOptions {
  /** Value when the flag is absent. */
  default: number;
  /** Smallest accepted value. Default: 0. */
  min?: number;
  /** Largest accepted value. Default: Number.MAX_SAFE_INTEGER. */
  max?: number;
}

/** Reads a whole-number flag, or throws a UsageError naming the flag and the accepted range. */
export function intFlag(flags: Flags, name: string, options: IntOptions): number {
  const raw = flags[name];
  if (raw === undefined) return options.default;
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
    throw new UsageError(`--${name} must be ${range}, got "${String(raw)}"`);
  }
  return value;
}

/** Like intFlag, but absent means undefined (the feature stays off). */
export function optionalIntFlag(flags: Flags, name: string, options: Omit<IntOptions, "default">): number | undefined {
  return flags[name] === undefined ? undefined : intFlag(flags, name, { ...options, default: 0 });
}

/** Reads a flag whose value must be one of `choices`. */
export function choiceFlag<T extends string>(flags: Flags, name: string, choices: readonly T[], def: T): T {
  const raw = flags[name];
  if (raw === undefined) return def;
  if (typeof raw !== "string" || !(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${String(raw)}"`);
  }
  return raw as T;
}

/** Reads a string flag. */
export function stringFlag(flags: Flags, name: string, def: string): string {
  const raw = flags[name];
  return typeof raw === "string" ? raw : def;
}

/**
 * Runs a CLI's main function so that a bad command line is one line on stderr
 * and exit 2, and any other failure is one line and exit 1: never a stack
 * trace (set DEBUG=1 to see one).
 */
export function runCli(program: string, main: () => Promise<void> | void): void {
  const fail = (e: unknown) => {
    const usageError = e instanceof UsageError;
    const text = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${program}: ${text}\n`);
    if (process.env.DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(usageError ? 2 : 1);
  };
  try {
    Promise.resolve(main()).catch(fail);
  } catch (e) {
    fail(e);
  }
}
