import { readFileSync } from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../engine/build.ts";
import { findPython } from "../engine/python.ts";

/** The libraries whose behaviour the lab observes. */
const observed = ["@connectrpc/connect", "@connectrpc/connect-node", "@grpc/grpc-js", "@bufbuild/protobuf"];

/**
 * Installed versions of the observed libraries, read from node_modules (what
 * actually ran), and grpcio's as the Python that runs it reports it.
 */
export function libraryVersions(): Record<string, string> {
  const python = findPython();
  return {
    ...Object.fromEntries(
      observed.map((name) => {
        try {
          const manifest = JSON.parse(
            readFileSync(path.join(projectRoot, "node_modules", name, "package.json"), "utf8"),
          );
          return [name, String(manifest.version)];
        } catch {
          return [name, "not installed"];
        }
      }),
    ),
    grpcio: python ? `${python.grpcio} (${python.path})` : "not installed",
  };
}
