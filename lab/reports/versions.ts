import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { browserKinds, browserVersion } from "../../peers/browser/browsers.ts";
import { proxyVersions } from "../catalogue/proxies.ts";
import { projectRoot } from "../engine/build.ts";
import { debianGrpcio, toolchainVersion } from "../engine/peer-builds.ts";

const read = (file: string) => {
  try {
    return readFileSync(path.join(projectRoot, file), "utf8");
  } catch {
    return undefined;
  }
};

/** A Go module's version as a peer's go.mod requires it (go.sum pins its bytes). */
function goModule(dir: string, module: string): string | undefined {
  return new RegExp(`^\\s*${module.replace(/\./g, "\\.")} (v\\S+)`, "m").exec(read(`${dir}/go.mod`) ?? "")?.[1];
}

/** A crate's version as a peer's Cargo.lock has it. */
function crate(dir: string, name: string): string | undefined {
  return new RegExp(`name = "${name}"\\nversion = "([^"]+)"`).exec(read(`${dir}/Cargo.lock`) ?? "")?.[1];
}

/** A Maven artifact's version as the build copied it into target/lib (what runs). */
function jar(dir: string, artifact: string): string | undefined {
  const lib = path.join(projectRoot, dir, "target", "lib");
  if (!existsSync(lib)) return undefined;
  const file = readdirSync(lib).find((f) => f.startsWith(`${artifact}-`) && /-\d[\w.]*\.jar$/.test(f));
  return file?.slice(artifact.length + 1, -".jar".length);
}

/** A package's version as the venv has it installed (its .dist-info folder). */
function pipPackage(dir: string, name: string): string | undefined {
  const lib = path.join(projectRoot, dir, ".venv", "lib");
  if (!existsSync(lib)) return undefined;
  for (const python of readdirSync(lib)) {
    const site = path.join(lib, python, "site-packages");
    const info =
      existsSync(site) && readdirSync(site).find((f) => f.startsWith(`${name}-`) && f.endsWith(".dist-info"));
    if (info) return info.slice(name.length + 1, -".dist-info".length);
  }
  return undefined;
}

/** The libraries whose behaviour the lab observes. */
const observed = [
  "@connectrpc/connect",
  "@connectrpc/connect-node",
  "@connectrpc/connect-web",
  "@grpc/grpc-js",
  "@bufbuild/protobuf",
];

/**
 * Installed versions of the observed libraries, read from where the programs
 * take them (node_modules, the Go modules' go.mod, Cargo.lock, the grpc-java
 * build's jars, the grpcio venv: issue 27), the toolchains', and the
 * proxies' and browsers' as they report themselves.
 */
export function libraryVersions(options: { browsers?: boolean; debianGrpcio?: boolean } = {}): Record<string, string> {
  const or = (v: string | undefined | null) => v ?? "not installed";
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
    grpcio: or(pipPackage("peers/grpcio", "grpcio")),
    protobuf: or(pipPackage("peers/grpcio", "protobuf")),
    ...(options.debianGrpcio && { "grpcio (Debian 12)": or(debianGrpcio()) }),
    "connectrpc.com/connect": or(goModule("peers/connect-go", "connectrpc.com/connect")),
    "google.golang.org/grpc": or(goModule("peers/grpc-go", "google.golang.org/grpc")),
    "io.grpc:grpc-netty": or(jar("peers/grpc-java", "grpc-netty")),
    "io.netty:netty-codec-http2": or(jar("peers/grpc-java", "netty-codec-http2")),
    tonic: or(crate("peers/tonic", "tonic")),
    hyper: or(crate("peers/tonic", "hyper")),
    h2: or(crate("peers/tonic", "h2")),
    go: or(toolchainVersion("go")),
    java: or(javaVersion()),
    rustc: or(rustcVersion()),
    // The proxies of the proxy group (issue 14), as each reports itself.
    ...Object.fromEntries([...proxyVersions()].map(([id, version]) => [id, version ?? "not installed"])),
    // The browsers of --browsers (issue 19), as each reports itself.
    ...(options.browsers &&
      Object.fromEntries(browserKinds.map((kind) => [kind, browserVersion(kind) ?? "not installed"]))),
  };
}

/** The JVM the Java programs run on. */
function javaVersion(): string | undefined {
  const run = spawnSync(process.env.LAB_JAVA || "java", ["-version"], { encoding: "utf8", timeout: 10_000 });
  return run.status === 0 ? run.stderr.trim().split("\n")[0] : undefined;
}

/** The compiler that built the tonic programs. */
function rustcVersion(): string | undefined {
  const run = spawnSync("rustc", ["--version"], { encoding: "utf8", timeout: 10_000 });
  return run.status === 0 ? run.stdout.trim() : undefined;
}
