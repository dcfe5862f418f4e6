import { readFileSync } from "node:fs";
import * as path from "node:path";
import { browserKinds, browserVersion } from "../../peers/browser/browsers.ts";
import { proxyVersions } from "../catalogue/proxies.ts";
import { projectRoot } from "../engine/build.ts";
import { findPython } from "../engine/python.ts";

/** The libraries whose behaviour the lab observes. */
const observed = [
  "@connectrpc/connect",
  "@connectrpc/connect-node",
  "@connectrpc/connect-web",
  "@grpc/grpc-js",
  "@bufbuild/protobuf",
];

/**
 * Installed versions of the observed libraries, read from node_modules (what
 * actually ran), grpcio's as the Python that runs it reports it, and the
 * proxies' as they report themselves.
 */
export function libraryVersions(options: { browsers?: boolean } = {}): Record<string, string> {
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
    // The proxies of the proxy group (issue 14), as each reports itself.
    ...Object.fromEntries([...proxyVersions()].map(([id, version]) => [id, version ?? "not installed"])),
    // The browsers of --browsers (issue 19), as each reports itself.
    ...(options.browsers &&
      Object.fromEntries(browserKinds.map((kind) => [kind, browserVersion(kind) ?? "not installed"]))),
  };
}
