/**
 * The case catalogue: what the lab does to a Chat stream (or to a channel
 * over time), the evidence that fault must leave, and what the gRPC rules
 * and each stack say should come of it. Each group of cases has a file of
 * its own; a new case is one entry there. The shapes they share are in
 * case-types.ts.
 */
import type { LabCase } from "./case-types.ts";
import { channelCases } from "./channel-cases.ts";
import { handlerCases } from "./handler-cases.ts";
import { healthCases } from "./health-cases.ts";
import { http2Cases } from "./http2-cases.ts";
import { knobCasesAll } from "./knob-cases.ts";
import { networkCases } from "./network-cases.ts";
import { processCases } from "./process-cases.ts";
import { proxyCases } from "./proxy-cases.ts";
import { serverViewCases } from "./server-cases.ts";

export * from "./case-types.ts";
export { defaultSettings, type LabSettings, quickSettings } from "./settings.ts";

/** The whole catalogue, in report order. */
export const labCases: readonly LabCase[] = [
  ...processCases,
  ...networkCases,
  ...handlerCases,
  ...healthCases,
  ...http2Cases,
  ...serverViewCases,
  ...proxyCases,
  ...channelCases,
  ...knobCasesAll,
];

/**
 * The user's first question (issue 27): what does my client see when the server is fine, is not
 * there, shuts down, crashes or hangs, and what keepalive and a deadline do about the hang. The
 * default run asks it of every server/client pair; every other case runs for the core stacks
 * (stacks.ts coreStacks) unless --full, or --servers/--clients, asks for more.
 */
export const firstQuestion: readonly string[] = [
  "normal",
  "no-server",
  "shutdown-graceful",
  "shutdown-abrupt",
  "crash",
  "suspend",
  "suspend+keepalive",
  "suspend+deadline",
];

/**
 * The groups the default run leaves out (issue 27's 120 s on 2 cores): they run when --cases names
 * them, and in --full.
 */
export const fullOnlyGroups: readonly string[] = ["proxy", "channel", "knob"];

/**
 * The case as the default run takes it: a first-question case for every pair, any other for the
 * core stacks (and the fault peer, for the cases that are its own).
 */
export function defaultScope(
  labCase: LabCase,
  core: { servers: readonly string[]; clients: readonly string[] },
): LabCase {
  if (firstQuestion.includes(labCase.id)) return labCase;
  const servers = (labCase.servers ?? [...core.servers, "fault-peer"]).filter(
    (s) => core.servers.includes(s) || s === "fault-peer",
  );
  const clients = (labCase.clients ?? core.clients).filter((c) => core.clients.includes(c));
  return { ...labCase, servers, clients };
}
