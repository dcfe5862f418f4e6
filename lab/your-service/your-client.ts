import { clientFlags, type Protocol } from "../../lib/client-flags.ts";
import type { ClientStack } from "../catalogue/stacks.ts";

/** The client flags a user's command takes from the lab: where to call, filled in as {addr} and {url}. */
const filledIn = new Set(["host", "port", "protocol", "json"]);

/**
 * The user's own client as a client stack (issue 28): a command with {addr}
 * (host:port) or {url} (http://host:port) where it calls, run as a process
 * of its own for each run (a process group the lab can signal: Ctrl-C).
 * Every setting of the lab's clients (a keepalive, a deadline, a retry) is
 * refused: the client's own settings are what is measured.
 */
export function createYourClient(command: string, protocol: Protocol): ClientStack {
  return {
    id: `yours/${protocol}`,
    client: "yours",
    protocol,
    program: { kind: "command", command, name: "your client command" },
    refuses: [
      {
        flags: Object.keys(clientFlags)
          .filter((name) => !filledIn.has(name))
          .map((name) => `--${name}`),
        why: "a setting of the lab's own clients: your client's own settings are what is measured",
      },
      {
        flags: ["--channel"],
        why: "a channel's timeline: your client command runs once per run, one call",
      },
    ],
  };
}
