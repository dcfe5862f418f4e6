import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type FlagSpecs, type Flags, intFlag, stringFlag, UsageError } from "../../lib/cli.ts";
import { protocols as allProtocols, type Protocol } from "../../lib/client-flags.ts";
import { methodKind, resolveDynamicMethod } from "../../lib/dynamic-call.ts";
import type { LabCase, LabSettings } from "../catalogue/cases.ts";
import { labCases } from "../catalogue/cases.ts";
import { type ClientStack, clientStacks, type ServerStack, serverStacks } from "../catalogue/stacks.ts";
import type { LabTls } from "../engine/lab-tls.ts";
import { refusedBy } from "../engine/plan.ts";
import { preflight, preflightChannelClient, preflightClient } from "./preflight.ts";
import { descriptorSetBytes, reflectSchema } from "./reflection.ts";
import { compileProtos } from "./schema.ts";
import { createYourChannelClient, createYourClient } from "./your-client.ts";
import {
  createTargetServer,
  createYourServer,
  leftOutLines,
  type MethodKind,
  yourCases,
  yourSigterm,
} from "./your-server.ts";

/** The flags that point the lab at the user's own service (issue 28; docs/your-service.md). */
export const yourServiceFlags: FlagSpecs = {
  target: {
    type: "string",
    help: "a server already running, host:port: only what the relay can do to it (network and proxy faults); with --method",
  },
  "server-cmd": {
    type: "string",
    help: 'your server instead of the lab\'s: a command with {port} (and {host}) where it listens, e.g. "go run ./cmd/api --port {port}"; with --method',
  },
  method: { type: "string", help: "your server's method to call: pkg.v1.Service/Method" },
  request: { type: "string", help: "its request, protobuf JSON", default: "{}" },
  proto: {
    type: "string",
    help: "the schema: .proto files (comma list) under --proto-path; or --descriptor-set; or neither: server reflection",
  },
  "server-start-ms": {
    type: "string",
    help: "how long your server command may take to listen at its first start",
    default: "10000",
  },
  "proto-path": { type: "string", help: "import roots of --proto (comma list)", default: "." },
  "descriptor-set": { type: "string", help: "the schema as a binary FileDescriptorSet with imports (buf build -o)" },
  protocols: {
    type: "string",
    help: `what your server speaks (comma list of ${allProtocols.join(", ")})`,
    default: "grpc",
  },
  "client-cmd": {
    type: "string",
    help: "your client instead of the lab's: a command with {addr} (host:port) or {url} where it calls; its result is its exit status, or its last line's JSON code",
  },
  "client-channel-cmd": {
    type: "string",
    help: 'your client making calls until it is stopped, one JSON line per call ({"code": ..., "ms": ...}), with {addr} or {url}: the channel scenarios',
  },
  "client-protocol": { type: "string", help: "what your client speaks", default: "grpc" },
  "tls-ca": {
    type: "string",
    help: "with --tls: the CA (PEM) of your server's own certificate, which must name 127.0.0.1 and localhost; else --server-cmd takes the lab's as {cert} and {key}",
  },
};

/**
 * The clients that make calls from a schema (lib/dynamic-call.ts, peers/grpcio/dynamic_call.py,
 * peers/golab/dynamic.go, peers/grpc-java's DynamicCall.java). tonic has no runtime schema of its
 * own: its messages are Rust types that prost generates at build time.
 */
const dynamicClients = new Set(["connect", "grpc-js", "grpcio", "connect-go", "grpc-go", "grpc-java"]);

/** A run against the user's own service: what main.ts runs instead of the Chat matrix. */
export interface YourRun {
  servers: ServerStack[];
  clients: ClientStack[];
  cases: LabCase[];
  callArgs: string[];
  settings: LabSettings;
  /** Lines for the user before the run (what is left out, what the first call showed). */
  notes: string[];
  /** --tls: the lab's files, the CA the clients trust made a bundle with --tls-ca's. */
  tls: LabTls | undefined;
}

/** What the user's server side is: its stack, the call's kind and flags, and what its first start showed. */
interface YourServerSide {
  server: ServerStack;
  kind: MethodKind;
  callArgs: string[];
  settings: LabSettings;
  health: boolean;
  target: boolean;
  notes: string[];
}

/**
 * Reads the --server-cmd (or --target) flags, gets the schema (files, a
 * descriptor set, or the server's reflection), starts the server once and
 * calls it once (preflight.ts). Every bad input ends here in one line: a
 * UsageError for the command line, an Error for what the server did.
 * `method` may be left out only when the user's own client calls (--client-cmd).
 */
async function planServerSide(
  flags: Flags,
  settings: LabSettings,
  outDir: string,
  clientCommand: boolean,
  tls: LabTls | undefined,
): Promise<YourServerSide> {
  const mode = typeof flags.target === "string" ? "--target" : "--server-cmd";
  if (typeof flags.target === "string" && typeof flags["server-cmd"] === "string")
    throw new UsageError("--server-cmd and --target: choose one (a server the lab starts, or one already running)");
  const command = stringFlag(flags, "server-cmd", "");
  const target = typeof flags.target === "string" ? readAddress(flags.target) : undefined;
  if (!target && !command.includes("{port}"))
    throw new UsageError("--server-cmd needs {port} where your server takes its port, e.g. --port {port}");
  if (typeof flags.method !== "string" && !clientCommand)
    throw new UsageError(`${mode} needs --method pkg.v1.Service/Method (or your own client: --client-cmd)`);
  const method = typeof flags.method === "string" ? flags.method : undefined;
  const request = stringFlag(flags, "request", "{}");
  const protocols = readProtocols(stringFlag(flags, "protocols", "grpc"), "--protocols");
  const ownCa = typeof flags["tls-ca"] === "string" ? flags["tls-ca"] : undefined;
  if (tls && !ownCa && (target || !command.includes("{cert}") || !command.includes("{key}")))
    throw new UsageError(
      target
        ? "--target with --tls needs --tls-ca FILE: the CA of your server's certificate"
        : "--server-cmd with --tls needs {cert} and {key} where your server takes its certificate and key (the lab's, for 127.0.0.1 and localhost), or --tls-ca FILE: the CA of its own certificate",
    );
  const stackOf = (startMs?: number) =>
    target
      ? createTargetServer(target.host, target.port, protocols)
      : createYourServer({
          command,
          protocols,
          startMs,
          // Its first start waits as long as --server-start-ms; later ones 10x what the first took.
          ...(startMs === undefined && {
            startTimeoutMs: intFlag(flags, "server-start-ms", { default: 10_000, min: 100 }),
          }),
        });
  const dir = path.resolve(outDir, "your-service");
  mkdirSync(dir, { recursive: true });

  // The schema: a descriptor set, .proto files compiled by buf, or (after the server starts) reflection.
  let schema: string | undefined;
  if (typeof flags["descriptor-set"] === "string") schema = path.resolve(flags["descriptor-set"]);
  else if (typeof flags.proto === "string") {
    schema = compileProtos(commaList(flags.proto), commaList(stringFlag(flags, "proto-path", ".")), dir);
  }
  const callFlags = method && { method, request, descriptorSet: schema ?? path.join(dir, "reflected.binpb") };
  if (callFlags && schema) resolveDynamicMethod(callFlags);
  const callArgs = callFlags
    ? ["--method", callFlags.method, "--request", request, "--descriptor-set", callFlags.descriptorSet]
    : undefined;

  const first = await preflight(stackOf(), method, callArgs, tls, async (address) => {
    if (schema || !callFlags) return;
    const service = callFlags.method.replace(/^\//, "").split("/")[0];
    let files: Uint8Array[];
    try {
      files = await reflectSchema(address, service, tls && readFileSync(tls.caFile));
    } catch (e) {
      throw new UsageError(
        `no --proto or --descriptor-set, and server reflection could not give ${service}: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    writeFileSync(callFlags.descriptorSet, descriptorSetBytes(files));
    resolveDynamicMethod(callFlags);
  });
  // Without a method (the user's client calls), its call is taken for a stream: every case runs.
  const kind: MethodKind = callFlags ? methodKind(resolveDynamicMethod(callFlags).desc) : "server-streaming";
  const notes = [
    [
      target ? "your server:" : `your server listened ${first.startMs} ms after its start;`,
      ...(method ? [`${method} (${kind}) answered ok;`] : []),
      `grpc.health.v1 Check: ${first.health ? "SERVING" : "no"}`,
    ].join(" "),
  ];

  // The stream's own pace, where the call showed one: the lab's timings follow it (a run without a
  // fault ends a watchdog after the stream's last message is due).
  let s = settings;
  const record = first.record;
  if (record && record.received >= 2 && flags["interval-ms"] === undefined) {
    const { arrivalsMs, received } = record;
    const gaps = arrivalsMs.slice(1).map((at, i) => at - arrivalsMs[i]);
    const intervalMs = Math.max(20, Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length));
    s = {
      ...s,
      intervalMs,
      count: received,
      idleTimeoutMs: Math.max(s.idleTimeoutMs, Math.round(intervalMs * 1.6)),
      // A stream that drains after a graceful stop takes the rest of its messages' time: a hang is
      // one still waiting a watchdog after that.
      ...(flags["watchdog-ms"] === undefined && { watchdogMs: s.watchdogMs + intervalMs * (received - 1) }),
    };
    notes.push(`its stream: ${received} messages, one every ${intervalMs} ms: the lab's timings follow it`);
  } else if (record && (kind === "server-streaming" || kind === "bidi") && record.received < 2) {
    notes.push(
      `its stream ended after ${record.received} message(s): a fault at message 1 may come after its end (a lab error, not a finding); ask for a longer stream in --request`,
    );
  }
  return {
    server: stackOf(first.startMs),
    kind,
    callArgs: callArgs ?? [],
    settings: s,
    health: first.health,
    target: target !== undefined,
    notes,
  };
}

/** The groups a user's client runs in against the lab's own servers: its own calls, not a server's view. */
const clientGroups = new Set(["process", "network", "handler", "http2", "proxy"]);

/**
 * A run against the user's own service (issue 28): its server (--server-cmd,
 * or --target for one already running) called by the lab's clients that call
 * from a schema, or by its own client (--client-cmd), or both; the user's
 * client alone calls the lab's Chat servers and fault peer.
 */
export async function planYours(
  flags: Flags,
  settings: LabSettings,
  outDir: string,
  labTls: LabTls | undefined,
  pick: {
    cases: (all: readonly LabCase[]) => LabCase[];
    clients: (all: readonly ClientStack[]) => ClientStack[];
    servers: (all: readonly ServerStack[]) => ServerStack[];
  },
): Promise<YourRun> {
  const clientCommand = typeof flags["client-cmd"] === "string" ? flags["client-cmd"] : undefined;
  const channelCommand = typeof flags["client-channel-cmd"] === "string" ? flags["client-channel-cmd"] : undefined;
  const tls = withOwnCa(flags, labTls);
  for (const [flag, command] of [
    ["--client-cmd", clientCommand],
    ["--client-channel-cmd", channelCommand],
  ] as const) {
    if (command !== undefined && !/\{(addr|url)\}/.test(command))
      throw new UsageError(`${flag} needs {addr} (host:port) or {url} (http://host:port) where your client calls`);
  }
  const yourClient = clientCommand !== undefined || channelCommand !== undefined;
  const serverSide =
    typeof flags["server-cmd"] === "string" || typeof flags.target === "string"
      ? await planServerSide(flags, settings, outDir, yourClient, tls)
      : undefined;
  const s = serverSide?.settings ?? settings;
  const notes = [...(serverSide?.notes ?? [])];
  const protocol = readProtocols(stringFlag(flags, "client-protocol", "grpc"), "--client-protocol")[0];

  const picked = yourClient ? [] : pick.clients(clientStacks).filter((c) => !c.browser);
  const unable = [...new Set(picked.filter((c) => !dynamicClients.has(c.client)).map((c) => c.client))];
  if (unable.length > 0)
    notes.push(
      `left out ${unable.join(", ")}: no calls from a schema (tonic's messages are Rust types made at build time)`,
    );
  const clients = yourClient
    ? [
        ...(clientCommand ? [createYourClient(clientCommand, protocol)] : []),
        ...(channelCommand ? [createYourChannelClient(channelCommand, protocol)] : []),
      ]
    : picked.filter((c) => dynamicClients.has(c.client) && (serverSide?.server.protocols ?? []).includes(c.protocol));
  if (clients.length === 0)
    throw new UsageError(`--clients: none of them makes calls from a schema (${[...dynamicClients].join(", ")} do)`);
  const servers = serverSide
    ? [serverSide.server]
    : pick.servers(
        typeof flags.servers === "string" ? serverStacks : serverStacks.filter((x) => x.id === "connect" || x.peerOnly),
      );
  if (!serverSide && typeof flags.servers !== "string")
    notes.push("your client calls the Connect server and the fault peer: --servers names others");

  // Why a case's flags cannot be given here: the first pair's refusal, when every pair refuses it.
  const refusal = (c: LabCase) => {
    const reasons = clients.flatMap((client) =>
      servers.map((server) => refusedBy(c, client, { settings: s }, server)?.why),
    );
    if (reasons.some((r) => r === undefined)) return undefined;
    // The server's reason first, where it has one: it holds for every client.
    const byServer = servers
      .map((server) => refusedBy(c, { ...clients[0], refuses: [] }, { settings: s }, server)?.why)
      .find((r) => r !== undefined);
    return (byServer ?? reasons[0])?.replace(/^[^:]*: /, "");
  };
  const mine = serverSide
    ? yourCases({ kind: serverSide.kind, refusal, health: serverSide.health, target: serverSide.target })
    : clientCases(refusal, channelCommand !== undefined);
  // Cases named with --cases (any of the catalogue's): those that apply run, the others are said.
  const named = typeof flags.cases === "string" ? pick.cases([yourSigterm, ...labCases]) : undefined;
  const cases = named ? mine.cases.filter((c) => named.some((n) => n.id === c.id)) : mine.cases;
  if (named) {
    for (const n of named) if (mine.why.has(n.id)) notes.push(`${n.id}: left out: ${mine.why.get(n.id)}`);
  } else notes.push(...leftOutLines(mine.why));
  // Once against a healthy server: the one-call client calls and ends by itself; the channel
  // client reports calls that end ok.
  const server = serverSide?.server ?? servers.find((x) => !x.peerOnly);
  if (server && yourClient) {
    const chatArgs = serverSide ? [] : ["--count", String(s.count), "--interval-ms", String(s.intervalMs)];
    const limitMs = s.intervalMs * s.count + 10 * s.watchdogMs;
    for (const client of clients) {
      if (client.client === "yours") {
        const first = await preflightClient(client, server, chatArgs, limitMs, tls);
        notes.push(`your client ended ${first.code} in ${first.ms} ms against a healthy server`);
      } else {
        const first = await preflightChannelClient(client, server, chatArgs, limitMs, tls);
        notes.push(`your channel client reported ${first.calls} calls ok in ${first.ms} ms against a healthy server`);
      }
    }
  }
  if (cases.length === 0) throw new UsageError("--cases: none of the cases chosen applies here");
  return { servers, clients, cases, callArgs: serverSide?.callArgs ?? [], settings: s, notes, tls };
}

/**
 * --tls-ca: the CA of the user's own server certificate. The clients trust it and the lab's CA
 * (one PEM bundle), for the proxies in front of that server serve the lab's certificate.
 */
function withOwnCa(flags: Flags, tls: LabTls | undefined): LabTls | undefined {
  if (typeof flags["tls-ca"] !== "string") return tls;
  if (!tls) throw new UsageError("--tls-ca needs --tls");
  let pem: string;
  try {
    pem = readFileSync(flags["tls-ca"], "utf8");
  } catch (e) {
    throw new UsageError(`--tls-ca: cannot read ${flags["tls-ca"]}: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new UsageError(`--tls-ca: ${flags["tls-ca"]} holds no PEM certificate`);
  const caFile = path.join(path.dirname(tls.caFile), "trusted.pem");
  writeFileSync(caFile, `${readFileSync(tls.caFile, "utf8").trimEnd()}\n${pem.trimEnd()}\n`);
  return { ...tls, caFile };
}

/**
 * The cases the user's client takes against the lab's own servers: a client's own calls in the
 * process, network, handler, HTTP/2 and proxy groups, not a server's view or a library's knob.
 */
function clientCases(
  refusal: (c: LabCase) => string | undefined,
  channel: boolean,
): { cases: LabCase[]; why: Map<string, string> } {
  const why = new Map<string, string>();
  const cases: LabCase[] = [];
  for (const c of labCases) {
    const refused = refusal(c);
    if (c.group === "channel" && !channel) why.set(c.id, "a channel's timeline: --client-channel-cmd runs these");
    else if ((!clientGroups.has(c.group) && c.group !== "channel") || c.view === "server")
      why.set(c.id, "not a client's own call");
    else if (refused) why.set(c.id, refused);
    else cases.push(c);
  }
  return { cases, why };
}

/** A comma list's items, trimmed. */
const commaList = (raw: string) =>
  raw
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Protocol names from a comma list; a UsageError naming an unknown one. */
function readProtocols(raw: string, flag: string): Protocol[] {
  const list = commaList(raw) as Protocol[];
  const unknown = list.filter((p) => !allProtocols.includes(p));
  if (unknown.length > 0 || list.length === 0)
    throw new UsageError(`${flag}: unknown "${unknown.join(", ")}"; choose from ${allProtocols.join(", ")}`);
  return list;
}

/** host:port (an IPv6 host in brackets), as --target takes it. */
function readAddress(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(raw);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65535))
    throw new UsageError(`--target must be host:port, e.g. 127.0.0.1:50051, got "${raw}"`);
  return { host: m[1] ?? m[2], port };
}
