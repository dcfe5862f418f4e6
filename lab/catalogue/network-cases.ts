/**
 * Network faults between client and server, made by the relay: a blackhole and a reset, with each remedy.
 */
import { blackholed, bothLegsReset } from "../faults/evidence.ts";
import {
  blackhole,
  connectGoDropped,
  connectionFailure,
  connectReset,
  deadlineArgs,
  deadlineRule,
  grpcioPingTimeout,
  idleTimeoutArgs,
  idleTimeoutRule,
  keepaliveArgs,
  keepaliveRule,
  silentPeer,
  tonicDeadline,
  tonicDropped,
} from "./case-parts.ts";
import type { LabCase } from "./case-types.ts";

export const networkCases: LabCase[] = [
  {
    id: "blackhole",
    group: "network",
    summary: "the network between client and server goes silent both ways (fault proxy), no remedy",
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["hang"], cite: silentPeer },
  },
  {
    id: "blackhole+keepalive",
    group: "network",
    summary: "the network goes silent, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: blackhole,
    // A client that keeps its PINGs 10 s apart (grpc-go, grpc-java, issue 27) outlasts our servers'
    // own probe of the silent connection (a PING 1 s into its idleness): the server closes its end
    // at ~3 s, and that close goes nowhere (the relay holds it), which is the point of the case.
    evidence: [blackholed("none")],
    expect: {
      rule: ["unavailable"],
      cite: keepaliveRule,
      departures: [connectGoDropped, tonicDropped, grpcioPingTimeout],
    },
  },
  {
    id: "blackhole+deadline",
    group: "network",
    summary: "the network goes silent, client deadline set",
    clientArgs: deadlineArgs,
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["deadline_exceeded"], cite: deadlineRule, departures: [tonicDeadline] },
  },
  {
    id: "blackhole+idle-timeout",
    group: "network",
    summary: "the network goes silent, client idle timeout set",
    clientArgs: idleTimeoutArgs,
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["deadline_exceeded"], cite: idleTimeoutRule },
  },
  {
    id: "reset",
    group: "network",
    summary: "the network resets both TCP connections (fault proxy), like a load balancer dropping them",
    fault: [{ kind: "network", mode: "reset" }],
    evidence: [bothLegsReset()],
    expect: {
      rule: ["unavailable"],
      cite: connectionFailure,
      departures: [connectReset, connectGoDropped, tonicDropped],
    },
  },
];
