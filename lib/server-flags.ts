import type { FlagSpecs } from "./cli.ts";

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
  quiet: { type: "boolean", help: "do not print a line per message sent" },
};
