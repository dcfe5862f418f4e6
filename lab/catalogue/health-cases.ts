/**
 * What a grpc.health.v1 Watch stream reports when the server drains or is suspended.
 */
import { goawayAfterFault, pingsUnanswered, processStopped, statusOnWire } from "../faults/evidence.ts";
import {
  connectGoDropped,
  grpcioPingTimeout,
  healthWatchRule,
  keepaliveArgs,
  keepaliveRule,
  silentPeer,
  suspend,
  tonicDropped,
  watchHealthArgs,
} from "./case-parts.ts";
import type { LabCase } from "./case-types.ts";

export const healthCases: LabCase[] = [
  {
    id: "health-watch+shutdown-graceful",
    group: "health",
    summary:
      "a grpc.health.v1 Watch stream instead of Chat; SIGTERM to the server once it reported SERVING, grace as in shutdown-graceful",
    serverArgs: (s) => ["--grace-ms", String(s.intervalMs * (s.count + 1))],
    clientArgs: watchHealthArgs,
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    showMessages: true,
    evidence: [goawayAfterFault(), statusOnWire("unavailable")],
    expect: {
      rule: ["unavailable"],
      cite: `${healthWatchRule}; our servers send NOT_SERVING when the drain starts, then end the Watch UNAVAILABLE so it does not hold the drain up`,
    },
  },
  {
    id: "health-watch+suspend",
    group: "health",
    summary: "a health Watch stream; SIGSTOP to the server once it reported SERVING, no remedy",
    clientArgs: watchHealthArgs,
    fault: suspend,
    showMessages: true,
    evidence: [processStopped()],
    expect: {
      rule: ["hang"],
      cite: `${healthWatchRule}; a suspended server sends no change, so the watcher keeps believing SERVING (${silentPeer})`,
    },
  },
  {
    id: "health-watch+suspend+keepalive",
    group: "health",
    summary: "a health Watch stream; SIGSTOP to the server, client HTTP/2 keepalive on",
    clientArgs: (s) => [...watchHealthArgs(), ...keepaliveArgs(s)],
    fault: suspend,
    showMessages: true,
    evidence: [processStopped(), pingsUnanswered()],
    expect: {
      rule: ["unavailable"],
      cite: keepaliveRule,
      departures: [connectGoDropped, tonicDropped, grpcioPingTimeout],
    },
  },
];
