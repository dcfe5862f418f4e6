import type { RunRecord } from "./run-record.ts";

/** What a cell is expected to show, as results.json states it. */
export interface CellExpectation {
  /** The outcomes the gRPC rules call for. */
  rule: string[];
  /** The rule, cited. */
  cite: string;
  /** What the fault must leave on the wire or in the process: a run without it is a lab error. */
  evidence: string[];
  /** The outcomes --check accepts here: the rule's, or a known departure's. */
  allowed: string[];
  /** Why this stack departs from the rule, where it is known to. */
  departures: { codes: string[]; why: string }[];
  /**
   * The catalogue's outcomes were measured for another release or other settings than this
   * cell's (a release of --versions, a --profile other than lab): `allowed` is what they were
   * there, not what --check holds this cell to. Default: false.
   */
  otherSettings?: boolean;
}

/** All runs of one case against one server/client pair. */
export interface CellResult {
  case: string;
  server: string;
  /** The client stack ("connect", "grpc-js"); a release of the --versions matrix: "grpc-js@1.8.22". */
  client: string;
  /** For a release of the --versions matrix (issue 18): its version. */
  release?: string;
  protocol: string;
  expected: CellExpectation;
  runs: RunRecord[];
}

/** A client agent's account of itself (lab/engine/client-agent.ts). */
export interface AgentRecord {
  client: string;
  /** The client stack it served ("connect/grpc"): one agent per stack. */
  stack: string;
  pid: number;
  calls: number;
  /** How late its timers ran, over the whole run: calls sharing it must not delay one another. */
  eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
}

export interface LabResults {
  meta: {
    startedAt: string;
    node: string;
    versions: Record<string, string>;
    settings: Record<string, unknown>;
    /** The profile's sections (issue 18): each stack's library options; its name is settings.profile. */
    profile?: Record<string, Record<string, unknown>>;
    /** "agents" (runs isolated by connection) or "isolate" (fresh processes for every run). */
    mode: "agents" | "isolate";
    /** The wire tap was on. */
    tap: boolean;
    /** --tls (issue 19): every hop was HTTP/2 over TLS (absent: h2c). */
    tls?: boolean;
    /** Wall time of the whole run, ms. */
    wallMs: number;
    /**
     * CPU time, ms: of the lab process itself, and of every process it
     * started and waited for (servers, clients, agents, the supervisor),
     * from /proc/self/stat; null where there is no /proc.
     */
    cpu: { labMs: number; childrenMs: number } | null;
    /** Processes the lab started. */
    processes: number;
    /** The client agents, with how late their timers ran. */
    agents: AgentRecord[];
    /** How late the lab's own timers ran (it runs the relays and injects the faults). */
    labEventLoopDelayMs: { p50: number; p99: number; max: number };
  };
  cells: CellResult[];
}
