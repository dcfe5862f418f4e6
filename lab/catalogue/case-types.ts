/**
 * The shapes the case catalogue is made of (a case, its fault steps, what is
 * expected of it), and how a cell's allowed outcomes are read off them.
 * Every group's file imports these; this file imports no catalogue file
 * back (issue 17).
 */
import type { Evidence } from "../faults/evidence.ts";
import type { ProxyVariant } from "./proxies.ts";
import type { LabSettings } from "./settings.ts";

/**
 * One step of a fault, done in order once the client has message 1:
 * - signal: a signal to the server or the client, afterMs after the previous step;
 * - network: the relay between them turns to blackhole or reset (behind a proxy: the relay of one
 *   hop, client-proxy or proxy-server);
 * - restart: SIGKILL to the server, and a new one on the same port;
 * - stall: nothing to do, the server's handler goes silent after message 1 by itself (--stall-after 1);
 * - peer: nothing to do, the fault peer commits its own fault; its `fault: ... at` line times it.
 * Steps on the server process (a server signal, restart) are done once per server and watched by
 * every client on it; the others are done per run.
 */
export type FaultStep =
  | { kind: "signal"; target: "server" | "client"; signal: NodeJS.Signals; afterMs?: (settings: LabSettings) => number }
  | { kind: "network"; mode: "blackhole" | "reset"; hop?: Hop }
  | { kind: "reader"; action: "reset" | "drop" }
  | { kind: "restart" }
  | { kind: "stall" }
  | { kind: "peer" };

/** Behind a proxy, the two TCP hops of a call, each with a relay of its own. */
export type Hop = "client-proxy" | "proxy-server";

/** Which cells a known behaviour applies to; an absent field matches all. */
export interface CellMatch {
  server?: string;
  client?: string;
  protocol?: string;
  /** Over TLS only (true, --tls, issue 19) or over h2c only (false). Default: either. */
  tls?: boolean;
  /**
   * Only on this release of the client's library (a --versions release's version, "1.51.1"): a
   * behaviour the project's own release no longer has (issue 27). Default: every release.
   */
  release?: string;
}

/** What a stack is known to do where it departs from the rule, and why. */
export interface KnownDeparture extends CellMatch {
  codes: string[];
  why: string;
}

export interface Expectation {
  /** The outcomes the gRPC rules call for: code names, or "hang". */
  rule: string[];
  /** The rule, cited. */
  cite: string;
  /** Cells known to depart from the rule. */
  departures?: KnownDeparture[];
}

/**
 * Families of cases, for --cases and for the report's tables: signals to the
 * server process, network faults (the relay), a stalled handler, and
 * HTTP/2-level faults (fault peer), what a health Watch stream reports, the
 * server's view, the faults behind a proxy, a channel's life over time, and
 * what one library option does (the knob group, issue 18).
 */
export const caseGroups = [
  "process",
  "network",
  "handler",
  "http2",
  "health",
  "server",
  "proxy",
  "channel",
  "knob",
] as const;
export type CaseGroup = (typeof caseGroups)[number];

export interface LabCase {
  id: string;
  group: CaseGroup;
  /**
   * Whose view the case takes: the client's (default: what the client ends
   * with), or the server's (group "server": what the server's handler ends
   * with, watched in its log, when its client dies, hangs or stops reading).
   */
  view?: "client" | "server";
  /**
   * The server's view: who calls. A client process of its own (default; the
   * faults that act on the client process need one), a call in the connect
   * agent, or the lab's slow reader (a raw HTTP/2 client whose window stays 0,
   * lab/faults/slow-reader.ts).
   */
  driver?: "process" | "agent" | "slow-reader";
  /** Run against these server stacks only. Default: every Chat server (or the case's peer). */
  servers?: string[];
  /**
   * The client processes of this case (Ctrl-C needs them) may watch one
   * server together, given a pause between messages long enough for all to
   * have message 1 before any has message 2 (plan.ts sharedProcessesArgs),
   * where the server takes it; else, and by default, one server each.
   */
  sharedByProcesses?: boolean;
  /**
   * Client stacks that call in a process of their own here, not in their
   * agent: the case crashes them, and a crash must take only its own run
   * (and is then what the cell shows: `crashed`).
   */
  ownProcess?: string[];
  /** One line: what is done. */
  summary: string;
  /** Start no server at all (the client calls a port nobody listens on). Default: false. */
  noServer?: boolean;
  /**
   * The call goes through this proxy (issue 14), set up as `variant` says:
   * client -> relay -> proxy -> relay -> server, a tap on each hop.
   */
  proxy?: { id: string; variant: ProxyVariant };
  /** Run against this server stack only (the fault peer) instead of the Chat servers. */
  peer?: string;
  /** When the fault happens: once message 1 arrived (default), or from the client's start (a peer that never answers). */
  faultAt?: "message-1" | "start";
  /**
   * The server without a remedy of the lab's (the server's view): under the
   * lab profile, the `defaults` profile's server section (no server
   * keepalive, no write-stall timeout, as the libraries ship); under any
   * other, that profile's (issue 18). Default: false, the run's profile.
   */
  serverAsShipped?: boolean;
  /**
   * Where no setting can end this case (a bug only code reaches, a stack
   * with no such setting): `--profile recommended` reports its hang with
   * the reason instead of failing on it (issue 18). Default: none.
   */
  noSetting?: { server?: string; client?: string; why: string }[];
  /**
   * Extra server flags. `server` is the stack they go to: a server that keeps
   * its PINGs further apart than it is told (grpc-go: 1 s) gets a stream long
   * enough for its own keepalive (issue 27).
   */
  serverArgs?: (settings: LabSettings, server?: { keepaliveFloorMs?: number }) => string[];
  /** Extra client flags. `server` is the stack called, where its start time matters (a restart). */
  clientArgs?: (settings: LabSettings, server?: { startMs?: number }) => string[];
  /** What is done; none for a plain run. */
  fault?: FaultStep[];
  /** The report lists what the client received in each cell (the health statuses). Default: false. */
  showMessages?: boolean;
  /** What the time in a cell measures, where it is not "from the fault to the client's result". */
  timing?: string;
  /**
   * A channel's life (group "channel", issue 17): instead of one call with
   * a fault at message 1, one long-lived channel per client stack and a
   * timeline of calls and faults on it.
   */
  channel?: ChannelScenario;
  /**
   * A knob case (issue 18): the case runs with the `defaults` profile and
   * this one library option set, whatever the run's profile.
   */
  knob?: {
    section: string;
    option: string;
    value: number | boolean | Record<string, unknown>;
    /** Options of the same section set with it, whatever its value (a max connection age with its grace). */
    also?: Record<string, number | boolean>;
  };
  /** Run with these client stacks only (their `client` names). Default: every one. */
  clients?: string[];
  /** What the fault must leave on the wire or in the process; a run without it is a lab error. */
  evidence: Evidence[];
  expect: Expectation;
}

/**
 * A channel scenario: one channel (a transport in connect-node) per run,
 * opened before the first step and closed after the last, the timeline done
 * to it, and which of its calls make the cell's outcome.
 */
export interface ChannelScenario {
  /**
   * Servers behind the channel, one on each of 127.0.0.1, 127.0.0.2, ...
   * (all loopback on Linux), each behind a relay of its own on the same
   * address: grpc-js and grpcio call them as one target. Default: 1.
   */
  backends?: number;
  /** The flags the channel opens with: keepalive, idle PINGs, load balancing, retries. */
  channelArgs?: (settings: LabSettings) => string[];
  /** The server's flags for this scenario (its stream's length, connection rotation). */
  serverArgs?: (settings: LabSettings) => string[];
  /** The timeline, in order. */
  steps: ChannelStep[];
  /** The label of the calls whose codes are the cell's outcome: one code, or the codes seen joined by "+" ("ok+unavailable"). */
  watch: string;
  /**
   * The cell's time figure: "call", the first watched call's own time, start
   * to end; "fault", from the fault (a killed server: when it was gone) to
   * the first watched call's end; "recovery", from the last fault step (a
   * restart: the new server listening) to the first message of the first
   * watched call from which on every watched call ended ok; "none".
   */
  time: "call" | "fault" | "recovery" | "none";
  /** Client stacks that cannot take part (against `server` only, where given), and why: their cell says so (n/a) instead of running. */
  notFor?: { client: string; server?: string; why: string }[];
  /** The first watched call must still be under way when the fault comes, or the run proves nothing. Default: false. */
  underWayAtFault?: boolean;
  /**
   * A connection of the channel must still be open when the fault comes: a
   * case about an idle connection the fault finds proves nothing when the
   * client had already closed it (a keepalive PING answered late on a busy
   * machine). Default: false.
   */
  openAtFault?: boolean;
}

/** One step of a channel's timeline; its times are the lab's settings' (LabSettings.channel). */
export type ChannelStep =
  /**
   * A call on the channel with these call flags (its deadline,
   * wait-for-ready); `wait`: the next step waits for its end, or
   * ("message") for its first message.
   */
  | { do: "call"; label: string; args?: (settings: LabSettings) => string[]; wait?: boolean | "message" }
  /** A call every `everyMs` for `forMs`, none waited for. */
  | {
      do: "calls";
      label: string;
      everyMs: (settings: LabSettings) => number;
      forMs: (settings: LabSettings) => number;
      args?: (settings: LabSettings) => string[];
    }
  | { do: "pause"; ms: (settings: LabSettings) => number }
  /** A signal to a backend's server (default: backend 0); before a SIGKILL its relays stop listening (a dead port refuses). */
  | { do: "signal"; signal: "SIGSTOP" | "SIGKILL" | "SIGTERM"; backend?: number }
  /** After a SIGKILL: a new server on the same port, its relays listening again. */
  | { do: "restart"; backend?: number }
  /** The relays of a backend (default: every backend) turn to a mode (forward: back to normal), for every connection or only those open now. */
  | { do: "network"; mode: "blackhole" | "reset" | "forward"; scope: "all" | "existing"; backend?: number }
  /** Waits until the client has closed its end of every connection the fault ended (its relays say so), up to 2 s. */
  | { do: "client-saw-close" }
  /** Waits until every call has ended, or for its stream's length and the watchdog (`ms`: this long instead). */
  | { do: "settle"; ms?: (settings: LabSettings) => number };

/** The outcomes allowed in a cell: the rule's, plus the known departures that match it. */
export function allowedOutcomes(
  expect: Expectation,
  cell: { server: string; client: string; protocol: string; tls?: boolean; release?: string },
): string[] {
  const departures = matchingDepartures(expect, cell);
  return [...new Set([...(departures.length > 0 ? [] : expect.rule), ...departures.flatMap((d) => d.codes)])];
}

/** The known departures that apply to a cell. */
export function matchingDepartures(
  expect: Expectation,
  cell: { server: string; client: string; protocol: string; tls?: boolean; release?: string },
): KnownDeparture[] {
  return (expect.departures ?? []).filter(
    (d) =>
      (d.tls === undefined || d.tls === (cell.tls ?? false)) &&
      (d.release === undefined || d.release === cell.release) &&
      (d.server === undefined || d.server === cell.server) &&
      (d.client === undefined || d.client === cell.client) &&
      (d.protocol === undefined || d.protocol === cell.protocol),
  );
}
