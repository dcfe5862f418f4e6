import { clientFlags, type Protocol } from "../../lib/client-flags.ts";
import type { ClientStack } from "../catalogue/stacks.ts";

/** The client flags a user's command takes from the lab: where to call, filled in as {addr} and {url}. */
const filledIn = new Set(["host", "port", "protocol", "json", "tls-ca"]);

/** Every setting of the lab's own clients (a keepalive, a deadline, a retry): the user's client has its own. */
const labSettings = {
  flags: Object.keys(clientFlags)
    .filter((name) => !filledIn.has(name))
    .map((name) => `--${name}`),
  why: "a setting of the lab's own clients: your client's own settings are what is measured",
};

/**
 * The user's own client as a client stack (issue 28): a command with {addr}
 * (host:port) or {url} (http://host:port) where it calls, run as a process
 * of its own for each run (a process group the lab can signal: Ctrl-C).
 * Every setting of the lab's clients is refused: the client's own settings
 * are what is measured.
 */
export function createYourClient(command: string, protocol: Protocol): ClientStack {
  return {
    id: `yours/${protocol}`,
    client: "yours",
    protocol,
    program: { kind: "command", command, name: "your client command" },
    refuses: [
      {
        flags: ["--channel"],
        why: "a channel's timeline: your client command runs once per run, one call (--client-channel-cmd runs these)",
      },
      labSettings,
    ],
  };
}

/**
 * The user's client that makes calls until it is stopped, one JSON line per
 * call (`{"code": ..., "ms": ...}`), as a client stack for the channel
 * scenarios (lab/engine/command-channel.ts): one process per scene, its calls
 * placed on the scenario's timeline.
 */
export function createYourChannelClient(command: string, protocol: Protocol): ClientStack {
  return {
    id: `yours-channel/${protocol}`,
    client: "yours-channel",
    protocol,
    program: { kind: "command", command, name: "your client channel command" },
    channelOnly: "your channel client calls until it is stopped: one call per run is --client-cmd's",
    refuses: [
      {
        flags: ["--target"],
        why: "several backends behind one name: your command takes one address, {addr}",
      },
      labSettings,
    ],
  };
}
