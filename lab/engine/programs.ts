import { existsSync } from "node:fs";
import * as path from "node:path";
import { bundlePath, type NodeEntry, projectRoot } from "./build.ts";
import { javaClassPath, jvmTrainingFlags, type PeerBuild } from "./peer-builds.ts";

/**
 * How to start one of the lab's programs, whatever its language (issue 27):
 * a Node program bundled into dist/, a Python script on the venv the lab
 * makes (or on Debian's Python, for grpcio 1.51.1), a native binary (Go,
 * Rust), or a class of the grpc-java module on the JVM. A program that needs
 * a build names it; the lab builds it first (peer-builds.ts).
 */
export type Program =
  | { kind: "node"; entry: NodeEntry }
  | { kind: "python"; script: string; python: "venv" | "debian"; build?: PeerBuild }
  | { kind: "native"; file: string; build: PeerBuild }
  | { kind: "java"; mainClass: string; build: PeerBuild }
  /**
   * The user's own program (issue 28): a shell command with {port} (and {host}) where it
   * listens, run by /bin/sh in a process group of its own, so that a signal reaches the program
   * however the command starts it (`go run` builds and runs a child; a script may fork).
   */
  | { kind: "command"; command: string; name: string }
  /** A server already running that the lab did not start and must not signal (--target, issue 28). */
  | { kind: "address"; host: string; port: number };

/** A Node program, by its source path. */
export const node = (entry: NodeEntry): Program => ({ kind: "node", entry });

/**
 * The JVM's flags for the lab's Java programs: one collector thread and the
 * client compiler only, as for a short-lived tool; the lab starts the JVM many
 * times (a server per fresh scene), and each start costs CPU the other runs
 * need (issue 29).
 */
export const jvmFlags = [...jvmTrainingFlags, "-Xshare:auto"];

/** The command line that starts `program` with `args`; `runtimeArgs` go to its runtime (node, python, java). */
export function commandOf(
  program: Program,
  args: readonly string[],
  runtimeArgs: readonly string[] = [],
): { file: string; args: string[]; openssl: boolean } {
  switch (program.kind) {
    case "node":
      return { file: process.execPath, args: [...runtimeArgs, bundlePath(program.entry), ...args], openssl: false };
    case "python": {
      const python =
        program.python === "venv"
          ? path.join(projectRoot, program.build?.dir ?? "peers/grpcio", ".venv", "bin", "python")
          : process.env.LAB_DEBIAN_PYTHON || "/usr/bin/python3";
      // Unbuffered, so that each line reaches the lab as it is printed.
      // gRPC core's TLS is the system's OpenSSL: the lab's key log preloads into it (--tls).
      return {
        file: python,
        args: ["-u", ...runtimeArgs, path.join(projectRoot, program.script), ...args],
        openssl: true,
      };
    }
    case "native":
      // Go's crypto/tls and rustls log their keys themselves (SSLKEYLOGFILE).
      return { file: path.join(projectRoot, program.file), args: [...args], openssl: false };
    case "address":
      throw new Error(`the lab starts no process for ${program.host}:${program.port}: a server it did not start`);
    case "command": {
      // A simple command replaces the shell (exec): its pid is the program's, whose state and exit
      // the evidence reads. A compound one keeps the shell; the group gets every signal either way.
      const command = fillCommand(program.command, args);
      return {
        file: "/bin/sh",
        args: ["-c", /[;&|()<>`\n]/.test(command) ? command : `exec ${command}`],
        openssl: true,
      };
    }
    case "java": {
      // The class-data sharing archive the build made (peer-builds.ts), where it did.
      const archive = path.join(projectRoot, program.build.dir, "target", "lab.jsa");
      const cds = existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [];
      return {
        file: process.env.LAB_JAVA || "java",
        args: [
          ...jvmFlags,
          ...cds,
          ...runtimeArgs,
          "-cp",
          javaClassPath(path.join(projectRoot, program.build.dir)),
          program.mainClass,
          ...args,
        ],
        openssl: false,
      };
    }
  }
}

/** The build a program needs first, if any. */
export const buildOf = (program: Program): PeerBuild | undefined =>
  program.kind === "node" || program.kind === "command" || program.kind === "address" ? undefined : program.build;

/** The value of `--name` in a command line, if it is there. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * A command template with the lab's flags filled in: {port} and {host} from --port and --host
 * (127.0.0.1 when none is given), {addr} as host:port and {url} as http://host:port (a client's;
 * https:// over TLS); with --tls, {cert} and {key} (a server's, the lab's certificate chain and
 * key) and {ca} (a client's, the CA it must trust), PEM files.
 */
export function fillCommand(template: string, args: readonly string[]): string {
  const flag = (name: string) => flagValue(args, name);
  const host = flag("host") ?? "127.0.0.1";
  const port = flag("port") ?? "";
  const hostPort = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return template
    .replaceAll("{port}", port)
    .replaceAll("{host}", host)
    .replaceAll("{addr}", hostPort)
    .replaceAll("{url}", `${flag("tls-ca") ? "https" : "http"}://${hostPort}`)
    .replaceAll("{cert}", flag("tls-cert") ?? "")
    .replaceAll("{key}", flag("tls-key") ?? "")
    .replaceAll("{ca}", flag("tls-ca") ?? "");
}

/** A name for messages: the entry, script, file or class. */
export function programName(program: Program): string {
  switch (program.kind) {
    case "node":
      return program.entry;
    case "python":
      return program.script;
    case "native":
      return program.file;
    case "java":
      return program.mainClass;
    case "command":
      return program.name;
    case "address":
      return `the server at ${program.host}:${program.port}`;
  }
}
