import type { ChatRepliesOptions } from "./chat-replies.ts";
import { type FlagSpecs, intFlag, optionalIntFlag, parseFlags, stringFlag } from "./cli.ts";

/** The flags both Chat servers take, so they can be swapped for one another. */
export const serverFlags: FlagSpecs = {
  host: { type: "string", help: "address to listen on", default: "127.0.0.1" },
  port: { type: "string", help: "port to listen on; 0 picks a free one", default: "50051" },
  count: { type: "string", help: "responses per Chat stream", default: "3" },
  "interval-ms": { type: "string", help: "pause between two responses", default: "2000" },
  "grace-ms": {
    type: "string",
    help: "graceful-shutdown budget: in-flight streams may finish within it, the rest end unavailable",
    default: "5000, enough for a default stream to finish",
  },
  "stall-after": {
    type: "string",
    help: "stop sending after this many messages and stay silent (a stalled handler in a live process)",
    default: "never",
  },
  quiet: { type: "boolean", help: "do not print a line per message sent" },
};

export interface ServerSettings {
  host: string;
  port: number;
  count: number;
  intervalMs: number;
  graceMs: number;
  quiet: boolean;
  /** What each Chat stream sends. */
  replies: ChatRepliesOptions;
}

/** Parses and checks a server's command line; throws a UsageError naming a bad flag. */
export function readServerSettings(program: string, summary: string): ServerSettings {
  const flags = parseFlags({ program, summary, flags: serverFlags });
  const count = intFlag(flags, "count", { default: 3, min: 1 });
  const intervalMs = intFlag(flags, "interval-ms", { default: 2000 });
  return {
    host: stringFlag(flags, "host", "127.0.0.1"),
    port: intFlag(flags, "port", { default: 50051, max: 65535 }),
    count,
    intervalMs,
    graceMs: intFlag(flags, "grace-ms", { default: 5000 }),
    quiet: flags.quiet === true,
    replies: { count, intervalMs, stallAfter: optionalIntFlag(flags, "stall-after", { min: 0 }) },
  };
}
