import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type FlagSpecs, type Flags, stringFlag, UsageError } from "../../lib/cli.ts";
import { protocols as allProtocols, type Protocol } from "../../lib/client-flags.ts";
import { methodKind, resolveDynamicMethod } from "../../lib/dynamic-call.ts";
import type { LabCase, LabSettings } from "../catalogue/cases.ts";
import { type ClientStack, clientStacks, type ServerStack } from "../catalogue/stacks.ts";
import { refusedBy } from "../engine/plan.ts";
import { preflight } from "./preflight.ts";
import { descriptorSetBytes, reflectSchema } from "./reflection.ts";
import { compileProtos } from "./schema.ts";
import { createYourServer, yourCases } from "./your-server.ts";

/** The flags that point the lab at the user's own service (issue 28; docs/your-service.md). */
export const yourServiceFlags: FlagSpecs = {
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
  "proto-path": { type: "string", help: "import roots of --proto (comma list)", default: "." },
  "descriptor-set": { type: "string", help: "the schema as a binary FileDescriptorSet with imports (buf build -o)" },
  protocols: {
    type: "string",
    help: `what your server speaks (comma list of ${allProtocols.join(", ")})`,
    default: "grpc",
  },
};

/** The clients that make calls from a schema (lib/dynamic-call.ts, peers/grpcio/dynamic_call.py). */
const dynamicClients = new Set(["connect", "grpc-js", "grpcio"]);

/** A run against the user's own service: what main.ts runs instead of the Chat matrix. */
export interface YourRun {
  servers: ServerStack[];
  clients: ClientStack[];
  cases: LabCase[];
  callArgs: string[];
  settings: LabSettings;
  /** Lines for the user before the run (what is left out, what the first call showed). */
  notes: string[];
}

/**
 * Reads the --server-cmd flags, gets the schema (files, a descriptor set,
 * or the server's reflection), starts the server once and calls it once
 * (preflight.ts), and plans the cases that apply. Every bad input ends here
 * in one line: a UsageError for the command line, an Error for what the
 * server did.
 */
export async function planYourServer(
  flags: Flags,
  settings: LabSettings,
  outDir: string,
  pickCases: (all: readonly LabCase[]) => LabCase[],
  pickClients: (all: readonly ClientStack[]) => ClientStack[],
): Promise<YourRun> {
  const command = stringFlag(flags, "server-cmd", "");
  if (!command.includes("{port}"))
    throw new UsageError("--server-cmd needs {port} where your server takes its port, e.g. --port {port}");
  if (typeof flags.method !== "string") throw new UsageError("--server-cmd needs --method pkg.v1.Service/Method");
  const method = flags.method;
  const request = stringFlag(flags, "request", "{}");
  const protocols = stringFlag(flags, "protocols", "grpc")
    .split(",")
    .map((p) => p.trim()) as Protocol[];
  const unknown = protocols.filter((p) => !allProtocols.includes(p));
  if (unknown.length > 0 || protocols.length === 0)
    throw new UsageError(`--protocols: unknown ${unknown.join(", ")}; choose from ${allProtocols.join(", ")}`);
  if (flags.tls) throw new UsageError("--server-cmd with --tls: not yet (your server's certificate is its own)");
  const dir = path.resolve(outDir, "your-service");
  mkdirSync(dir, { recursive: true });

  // The schema: a descriptor set, .proto files compiled by buf, or (after the server starts) reflection.
  let schema: string | undefined;
  if (typeof flags["descriptor-set"] === "string") schema = path.resolve(flags["descriptor-set"]);
  else if (typeof flags.proto === "string") {
    const list = (s: string) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
    schema = compileProtos(list(flags.proto), list(stringFlag(flags, "proto-path", ".")), dir);
  }
  const callFlags = { method, request, descriptorSet: schema ?? path.join(dir, "reflected.binpb") };
  if (schema) resolveDynamicMethod(callFlags);
  const callArgs = () => ["--method", method, "--request", request, "--descriptor-set", callFlags.descriptorSet];

  const first = await preflight(createYourServer({ command, protocols }), method, callArgs, async (port) => {
    if (schema) return;
    const service = method.replace(/^\//, "").split("/")[0];
    let files: Uint8Array[];
    try {
      files = await reflectSchema(`127.0.0.1:${port}`, service);
    } catch (e) {
      throw new UsageError(
        `no --proto or --descriptor-set, and server reflection could not give ${service}: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    writeFileSync(callFlags.descriptorSet, descriptorSetBytes(files));
    resolveDynamicMethod(callFlags);
  });
  const desc = resolveDynamicMethod(callFlags).desc;
  const kind = methodKind(desc);
  const server = createYourServer({ command, protocols, startMs: first.startMs });
  const notes = [
    `your server listened ${first.startMs} ms after its start; ${method} (${kind}) answered ok; grpc.health.v1 Check: ${first.health ? "SERVING" : "no"}`,
  ];

  // The stream's own pace, where the call showed one: the lab's timings follow it (a run without a
  // fault ends a watchdog after the stream's last message is due).
  const { arrivalsMs, received } = first.record;
  let s = settings;
  if (received >= 2 && flags["interval-ms"] === undefined) {
    const gaps = arrivalsMs.slice(1).map((at, i) => at - arrivalsMs[i]);
    const intervalMs = Math.max(20, Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length));
    s = {
      ...s,
      intervalMs,
      count: received,
      idleTimeoutMs: Math.max(s.idleTimeoutMs, Math.round(intervalMs * 1.6)),
    };
    notes.push(`its stream: ${received} messages, one every ${intervalMs} ms: the lab's timings follow it`);
  } else if ((kind === "server-streaming" || kind === "bidi") && received < 2) {
    notes.push(
      `its stream ended after ${received} message(s): a fault at message 1 may come after its end (a lab error, not a finding); ask for a longer stream in --request`,
    );
  }

  const clients = pickClients(clientStacks).filter(
    (c) => dynamicClients.has(c.client) && protocols.includes(c.protocol) && !c.browser,
  );
  if (clients.length === 0)
    throw new UsageError("--clients: none of them makes calls from a schema (connect, grpc-js, grpcio do)");
  const { cases, leftOut } = yourCases(
    kind,
    (c) => refusedBy(c, clients[0], { settings: s }, server) === undefined,
    first.health,
  );
  const chosen = pickCases(cases);
  if (chosen.length === 0) throw new UsageError("--cases: none of the cases chosen applies to your server");
  if (leftOut.length > 0) notes.push(`left out: ${leftOut.join("; ")}`);
  return {
    servers: [server],
    clients,
    cases: chosen,
    callArgs: callArgs(),
    settings: s,
    notes,
  };
}
