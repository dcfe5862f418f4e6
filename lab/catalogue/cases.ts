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
