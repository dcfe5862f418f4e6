import type { LabCase, LabSettings } from "../lab/catalogue/cases.ts";
import { labCases } from "../lab/catalogue/cases.ts";
import { readProfile } from "../lab/catalogue/profiles.ts";
import { type ClientStack, clientStacks, keepaliveBoundMs, serverStacks } from "../lab/catalogue/stacks.ts";
import { runLab } from "../lab/engine/run-lab.ts";
import type { CellResult } from "../lab/reports/results.ts";
import type { RunRecord } from "../lab/reports/run-record.ts";
import { type Summary, summarize } from "./stats.ts";

export type Remedy = "keepalive" | "deadline" | "idle-timeout";

export interface DetectionRow {
  case: string;
  remedy: Remedy;
  client: string;
  /** The bound the remedy promises, ms (median over runs for the deadline: the time left at the fault). */
  boundMs: number;
  /** Detection time, ms: from the fault (keepalive, deadline) or from the last message (idle timeout). */
  detectMs: Summary;
  /** Detection time / bound, per run. */
  ratio: Summary;
  /** Runs that ended with the remedy's code, of all runs. */
  ended: number;
  runs: number;
}

export interface DetectionOptions {
  /** Fresh processes for every run (--isolate) instead of agents. */
  isolate?: boolean;
  settings: LabSettings;
  /** Runs per cell. */
  repeat: number;
  /** Client stacks to measure. */
  clients: readonly ClientStack[];
  /** Case ids: each must end in +keepalive, +deadline or +idle-timeout. */
  cases: readonly string[];
  jobs: number;
}

/** Every remedy with each fault it ends (a stalled handler still answers PINGs: keepalive does not end it). */
export const detectionCases = [
  "suspend+keepalive",
  "blackhole+keepalive",
  "mute-peer+keepalive",
  "suspend+deadline",
  "blackhole+deadline",
  "stall+deadline",
  "mute-peer+deadline",
  "suspend+idle-timeout",
  "blackhole+idle-timeout",
  "stall+idle-timeout",
];

function remedyOf(caseId: string): Remedy {
  const remedy = caseId.slice(caseId.lastIndexOf("+") + 1);
  if (remedy !== "keepalive" && remedy !== "deadline" && remedy !== "idle-timeout") {
    throw new Error(`${caseId}: not a remedy case`);
  }
  return remedy;
}

/**
 * The detection time of one run against the bound its remedy sets: keepalive
 * interval + timeout from the fault; a deadline's time left at the fault;
 * an idle timeout's setting from the last message (the client's clock).
 */
function measure(
  run: RunRecord,
  remedy: Remedy,
  s: LabSettings,
  client: Pick<ClientStack, "keepaliveFloorMs">,
): { detectMs: number; boundMs: number } | undefined {
  if (run.detectMs === null || run.call === null) return undefined;
  switch (remedy) {
    case "keepalive":
      // A client that keeps its PINGs further apart than it was told (gRPC core: about 1 s, measured)
      // promises its own interval, not ours.
      return { detectMs: run.detectMs, boundMs: keepaliveBoundMs(client, s) };
    case "deadline":
      // The call had run elapsed - detect ms when the fault came.
      return { detectMs: run.detectMs, boundMs: s.deadlineMs - (run.call.elapsedMs - run.detectMs) };
    case "idle-timeout": {
      const last = run.call.arrivalsMs[run.call.arrivalsMs.length - 1] ?? 0;
      return { detectMs: run.call.elapsedMs - last, boundMs: s.idleTimeoutMs };
    }
  }
}

const remedyCode: Record<Remedy, string> = {
  keepalive: "unavailable",
  deadline: "deadline_exceeded",
  "idle-timeout": "deadline_exceeded",
};

/** Runs the remedy cells through the lab's own runner and reads off detection against the bound. */
export async function measureDetection(options: DetectionOptions): Promise<DetectionRow[]> {
  const cases = options.cases.map((id) => labCases.find((c) => c.id === id) as LabCase);
  // gRPC core 1.85.1 waits grpc.http2.ping_timeout_ms (a minute) for a PING's ACK, whatever the
  // keepalive timeout (docs/repro/grpcio-keepalive-timeout.py): set to the keepalive timeout, as
  // `recommended` does, its keepalive has a bound to be measured against.
  const profile = readProfile("lab", options.settings);
  profile.sections.grpcio = {
    ...profile.sections.grpcio,
    "grpc.http2.ping_timeout_ms": options.settings.keepalive.timeoutMs,
  };
  const { cells }: { cells: CellResult[] } = await runLab({
    profile,
    cases,
    servers: serverStacks.filter((s) => s.id === "connect" || s.id === "fault-peer"),
    clients: options.clients,
    repeat: options.repeat,
    jobs: options.jobs,
    settings: options.settings,
    isolate: options.isolate,
  });
  return cells.map((cell) => {
    const remedy = remedyOf(cell.case);
    const stack = clientStacks.find((c) => c.id === `${cell.client}/${cell.protocol}`) ?? {};
    const measured = cell.runs.flatMap((run) => {
      const m = run.code === remedyCode[remedy] ? measure(run, remedy, options.settings, stack) : undefined;
      return m ? [m] : [];
    });
    return {
      case: cell.case,
      remedy,
      client: `${cell.client}/${cell.protocol}`,
      boundMs: Math.round(summarize(measured.map((m) => m.boundMs)).median),
      detectMs: summarize(measured.map((m) => m.detectMs)),
      ratio: summarize(measured.map((m) => m.detectMs / m.boundMs)),
      ended: measured.length,
      runs: cell.runs.length,
    };
  });
}
