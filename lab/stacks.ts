import type { Protocol } from "../lib/client-flags.ts";
import type { Entry } from "./build.ts";

/**
 * The servers the lab can put behind a client. Adding one is one entry here
 * (and a program that takes the flags of lib/server-flags.ts).
 */
export interface ServerStack {
  /** Id used in flags and reports. */
  id: string;
  /** The program that runs it. */
  entry: Entry;
  /** The protocols it speaks. */
  protocols: readonly Protocol[];
}

/** A client stack speaking one protocol: one column per server in the report. */
export interface ClientStack {
  /** Id used in flags and reports, "stack/protocol". */
  id: string;
  /** The client stack's name as it writes it in its JSON result. */
  client: string;
  protocol: Protocol;
  entry: Entry;
}

export const serverStacks: readonly ServerStack[] = [
  { id: "connect", entry: "server", protocols: ["grpc", "connect", "grpc-web"] },
  { id: "grpc-js", entry: "peers/grpc-js-server", protocols: ["grpc"] },
];

export const clientStacks: readonly ClientStack[] = [
  { id: "connect/grpc", client: "connect", protocol: "grpc", entry: "client" },
  { id: "connect/connect", client: "connect", protocol: "connect", entry: "client" },
  { id: "connect/grpc-web", client: "connect", protocol: "grpc-web", entry: "client" },
  { id: "grpc-js/grpc", client: "grpc-js", protocol: "grpc", entry: "peers/grpc-js-client" },
];

/** Every server/client pair that can talk, in report order. */
export function stackPairs(
  servers: readonly ServerStack[] = serverStacks,
  clients: readonly ClientStack[] = clientStacks,
): { server: ServerStack; client: ClientStack }[] {
  return servers.flatMap((server) =>
    clients.filter((client) => server.protocols.includes(client.protocol)).map((client) => ({ server, client })),
  );
}
