import type { RunRecord } from "./run-record.ts";

/** What a cell is expected to show, as results.json states it. */
export interface CellExpectation {
  /** The outcomes the gRPC rules call for. */
  rule: string[];
  /** The rule, cited. */
  cite: string;
  /** The outcomes --check accepts here: the rule's, or a known departure's. */
  allowed: string[];
  /** Why this stack departs from the rule, where it is known to. */
  departures: { codes: string[]; why: string }[];
}

/** All runs of one case against one server/client pair. */
export interface CellResult {
  case: string;
  server: string;
  /** The client stack ("connect", "grpc-js"). */
  client: string;
  protocol: string;
  expected: CellExpectation;
  runs: RunRecord[];
}

export interface LabResults {
  meta: {
    startedAt: string;
    node: string;
    versions: Record<string, string>;
    settings: Record<string, unknown>;
    /** Wall time of the whole run, ms. */
    wallMs: number;
    /**
     * CPU time, ms: of the lab process itself, and of every process it
     * started and waited for (servers, clients, the supervisor), from
     * /proc/self/stat; null where there is no /proc.
     */
    cpu: { labMs: number; childrenMs: number } | null;
    /** Processes the lab started. */
    processes: number;
  };
  cells: CellResult[];
}
