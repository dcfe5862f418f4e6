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
   * cell's (a release of --versions, a --profile other than lab, the user's own server or client):
   * `allowed` is what they were there, not what --check holds this cell to. Default: false.
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
    /**
     * The children's CPU by what they were (issue 29): "grpc-java server", "connect/grpc agent",
     * "nginx (default)", ... ms and processes, from each one's /proc stat sampled every second and
     * as the lab ends it (one that exits by itself: its last sample). Absent without /proc.
     */
    childCpu?: Record<string, { ms: number; processes: number }>;
    /** Processes the lab started. */
    processes: number;
    /** The commit the lab ran from, "+dirty" with changes not committed (issue 29: shards of one commit merge). */
    commit?: string;
    /** What the run was asked to run: its cases and stacks, --full; shards of one plan have the same. */
    selection?: { cases: string[]; servers: string[]; clients: string[]; full: boolean };
    /** This machine's share of the plan (--shard K/N, issue 29). */
    shard?: { index: number; count: number };
    /** A merged run (--merge): each shard's folder, wall time, cells, runs and CPU. */
    merged?: {
      shard: number;
      dir: string;
      startedAt: string;
      wallMs: number;
      cells: number;
      runs: number;
      cpuMs: number | null;
    }[];
    /** The client agents, with how late their timers ran. */
    agents: AgentRecord[];
    /** How late the lab's own timers ran (it runs the relays and injects the faults). */
    labEventLoopDelayMs: { p50: number; p99: number; max: number };
  };
  cells: CellResult[];
}
