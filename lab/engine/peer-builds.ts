import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { projectRoot } from "./build.ts";

/**
 * The peers in other languages (issue 27), built where they live with their
 * own toolchains: Go modules, a cargo workspace, a Maven module, a Python
 * virtual environment. A build is done once per machine and again only when
 * the peer's sources or the toolchain change (a fingerprint of both, kept
 * with the output); a missing toolchain or a failed build skips the stacks
 * that need it, with one line saying why.
 */
export type Toolchain = "go" | "cargo" | "maven" | "python";

/** What a stack needs built: a peer's folder and the toolchain that builds it. */
export interface PeerBuild {
  toolchain: Toolchain;
  /** The peer's folder, from the project's root. */
  dir: string;
  /** Folders outside it that its build also reads (a Go module's `replace` of peers/golab): in its fingerprint. Default none. */
  shared?: string[];
}

interface ToolchainSpec {
  /** Its name in messages. */
  label: string;
  /** The environment variable that names its command instead of the default (LAB_GO=/opt/go/bin/go). */
  env: string;
  command: () => string;
  /** Arguments that make it print its version (and fail when it cannot run). */
  versionArgs: string[];
  /** How to get it, in a few words. */
  hint: string;
  /** The folder under the peer's where its outputs go: left out of the fingerprint, and where it is kept. */
  output: string;
  /** The commands that build the peer, run in its folder (`dir`, absolute), in order. */
  steps: (command: string, dir: string) => string[][];
}

/** The JVM flags the archive is made with: a run that uses it must run with the same (programs.ts jvmFlags). */
// One compiler thread, its quick tier only, and no perf-data file: a JVM that runs seconds, not
// hours (issue 29: measured 1.15 s of CPU to a server's listening line, 1.35 s with the defaults).
export const jvmTrainingFlags = [
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:CICompilerCount=1",
  "-XX:-UsePerfData",
];

/** The grpc-java module's class path, once built: its jar and its dependencies (`dir`: the module's folder). */
export const javaClassPath = (dir: string) =>
  `${path.join(dir, "target", "grpc-java-lab.jar")}:${path.join(dir, "target", "lib", "*")}`;

/** Debian's Python first (where apt's python3-venv is), then python3 on PATH. */
const basePython = () => (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export const toolchains: Record<Toolchain, ToolchainSpec> = {
  go: {
    label: "Go",
    env: "LAB_GO",
    command: () => "go",
    versionArgs: ["version"],
    hint: "https://go.dev/doc/install, or Debian's golang-go (Go 1.26 or later)",
    output: "bin",
    // Every program of the module, each a cmd/ of its own.
    steps: (go) => [[go, "build", "-trimpath", "-o", "bin/", "./cmd/..."]],
  },
  cargo: {
    label: "Rust (cargo)",
    env: "LAB_CARGO",
    command: () => "cargo",
    versionArgs: ["--version"],
    hint: "https://rustup.rs (Rust 1.85 or later)",
    output: "target",
    steps: (cargo) => [
      [cargo, "build", "--release", "--locked", "--quiet"],
      // The code generator that generate.sh runs (its staleness test, lib/generated-code.test.ts):
      // built here, with the peer, it costs the suite nothing (a fresh clone's suite spent 61 s on it).
      [cargo, "build", "--locked", "--quiet", "-p", "tonic-lab-codegen"],
    ],
  },
  maven: {
    label: "Java (Maven)",
    env: "LAB_MVN",
    command: () => "mvn",
    versionArgs: ["-v"],
    hint: "a JDK 17 or later and Maven (Debian: openjdk-17-jdk-headless maven)",
    output: "target",
    steps: (mvn, dir) => [
      [mvn, "-q", "-B", "package"],
      // A class-data sharing archive of what the server and client load (issue 29: the lab starts a
      // JVM for every fresh grpc-java server; mapped classes cost each start less CPU). The JVM maps
      // it only for the class path it was made with, to the letter: the absolute one the lab runs
      // with (programs.ts javaClassPath). Made with a relative one, every start logged "Unable to
      // use shared archive" and loaded its 2,000 classes from the jars.
      [
        process.env.LAB_JAVA || "java",
        "-XX:ArchiveClassesAtExit=target/lab.jsa",
        ...jvmTrainingFlags,
        "-cp",
        javaClassPath(dir),
        "lab.grpcjava.Train",
      ],
    ],
  },
  python: {
    label: "Python venv",
    env: "LAB_PYTHON_BASE",
    command: basePython,
    versionArgs: ["-m", "venv", "--help"],
    hint: "Python 3.9 or later with its venv module (Debian: python3-venv)",
    output: ".venv",
    steps: (python) => [
      [python, "-m", "venv", ".venv"],
      [
        ".venv/bin/python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
        "requirements.txt",
      ],
    ],
  },
};

/** The command a toolchain runs as: its environment variable's, else its own. */
export const toolchainCommand = (t: Toolchain): string => process.env[toolchains[t].env] || toolchains[t].command();

const versions = new Map<Toolchain, string | null>();

/** The toolchain's version line, or null where it is missing or cannot run. Asked once. */
export function toolchainVersion(t: Toolchain): string | null {
  if (versions.has(t)) return versions.get(t) ?? null;
  const run = spawnSync(toolchainCommand(t), toolchains[t].versionArgs, { encoding: "utf8", timeout: 20_000 });
  const version = run.status === 0 ? (`${run.stdout}`.trim().split("\n")[0] ?? "").trim() : null;
  versions.set(t, version);
  return version;
}

/** Every file of a peer's folder but its outputs', sorted: what its build reads. */
function sources(dir: string, output: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = path.join(rel, entry.name);
      if (rel === "" && (entry.name === output || entry.name === "target" || entry.name === "bin")) continue;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) found.push(name);
    }
  };
  walk("");
  return found.sort();
}

/**
 * The fingerprint of a build: the toolchain's version, its commands (a JVM archive's flags among
 * them), and every source file's name and bytes.
 */
function fingerprint(build: PeerBuild): string {
  const spec = toolchains[build.toolchain];
  const dir = path.join(projectRoot, build.dir);
  const hash = createHash("sha256")
    .update(`${toolchainVersion(build.toolchain)}\n`)
    .update(`${JSON.stringify(spec.steps("TOOL", dir))}\n`);
  for (const folder of [dir, ...(build.shared ?? []).map((d) => path.join(projectRoot, d))]) {
    for (const file of sources(folder, spec.output)) {
      hash.update(`${path.relative(dir, path.join(folder, file))}\n`).update(readFileSync(path.join(folder, file)));
    }
  }
  return hash.digest("hex");
}

const stampOf = (build: PeerBuild) =>
  path.join(projectRoot, build.dir, toolchains[build.toolchain].output, ".lab-build");

/** Built from these very sources by this very toolchain. */
export function upToDate(build: PeerBuild): boolean {
  const stamp = stampOf(build);
  return existsSync(stamp) && readFileSync(stamp, "utf8") === fingerprint(build);
}

/** Why a build cannot be used, or undefined once it is built. */
export type BuildOutcome = { ok: true; ms: number; cached: boolean } | { ok: false; why: string };

/** Runs one command in the peer's folder; its output goes to the build's log. */
function run(argv: string[], cwd: string, log: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      // Colourless, and no prompt for anything.
      env: {
        ...process.env,
        CARGO_TERM_COLOR: "never",
        MAVEN_OPTS: process.env.MAVEN_OPTS ?? "-Djansi.passthrough=false",
      },
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", (e) => resolve(`${argv[0]}: ${e.message}`));
    child.on("close", (code, signal) => {
      writeFileSync(log, `$ ${argv.join(" ")}\n${output}\n`, { flag: "a" });
      if (code === 0) return resolve(undefined);
      // The last line that says what went wrong, else the last line.
      const lines = output.trim().split("\n").filter(Boolean);
      const line = [...lines].reverse().find((l) => /error|cannot|failed/i.test(l)) ?? lines.at(-1) ?? "";
      resolve(`${path.basename(argv[0])} ${argv[1] ?? ""} ${signal ?? `exited ${code}`}: ${line.trim().slice(0, 200)}`);
    });
  });
}

/** Builds (or finds built) one peer. */
async function buildOne(build: PeerBuild): Promise<BuildOutcome> {
  const spec = toolchains[build.toolchain];
  if (toolchainVersion(build.toolchain) === null) {
    return {
      ok: false,
      why: `no ${spec.label} toolchain (${toolchainCommand(build.toolchain)}: not found or not working; ${spec.hint})`,
    };
  }
  if (upToDate(build)) return { ok: true, ms: 0, cached: true };
  const dir = path.join(projectRoot, build.dir);
  const logDir = path.join(projectRoot, "dist", "peer-builds");
  mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, `${path.basename(build.dir)}.log`);
  writeFileSync(log, "");
  const start = performance.now();
  for (const step of spec.steps(toolchainCommand(build.toolchain), dir)) {
    const failed = await run(step, dir, log);
    if (failed) return { ok: false, why: `build failed (${path.relative(projectRoot, log)}): ${failed}` };
  }
  mkdirSync(path.dirname(stampOf(build)), { recursive: true });
  writeFileSync(stampOf(build), fingerprint(build));
  return { ok: true, ms: Math.round(performance.now() - start), cached: false };
}

const outcomes = new Map<string, Promise<BuildOutcome>>();

/**
 * Builds every peer of `builds` that is not built yet, side by side, once per
 * process; resolves with each peer's outcome by folder. `log` hears a line
 * per build that ran.
 */
export async function buildPeers(
  builds: readonly PeerBuild[],
  log: (line: string) => void = () => {},
): Promise<Map<string, BuildOutcome>> {
  const unique = [...new Map(builds.map((b) => [b.dir, b])).values()];
  const pending = unique.filter((b) => !outcomes.has(b.dir) && toolchainVersion(b.toolchain) !== null && !upToDate(b));
  if (pending.length > 0)
    log(`building ${pending.map((b) => `${b.dir} (${toolchains[b.toolchain].label})`).join(", ")}`);
  for (const build of unique) {
    if (!outcomes.has(build.dir)) {
      const outcome = buildOne(build);
      outcomes.set(build.dir, outcome);
      void outcome.then((o) => {
        if (o.ok && !o.cached) log(`built ${build.dir} in ${(o.ms / 1000).toFixed(1)} s`);
      });
    }
  }
  return new Map(
    await Promise.all(unique.map(async (b) => [b.dir, await (outcomes.get(b.dir) as Promise<BuildOutcome>)] as const)),
  );
}

/** A stack that runs a program: a server or client stack of the catalogue. */
interface WithProgram {
  id: string;
  program: { kind: string; build?: PeerBuild; python?: string };
  release?: { program?: { kind: string; python?: string } };
}

/** Debian's grpcio, for the grpcio@1.51.1 release: its version, or null when /usr/bin/python3 has none. */
export function debianGrpcio(): string | null {
  const python = process.env.LAB_DEBIAN_PYTHON || "/usr/bin/python3";
  const run = spawnSync(python, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return run.status === 0 ? run.stdout.trim() : null;
}

/**
 * The stacks whose programs can run here: their peers built (or built now),
 * Debian's grpcio where a release needs it. The others are left out, and
 * `say` hears one line per reason naming the stacks it takes out.
 */
export async function availableStacks<T extends WithProgram>(
  stacks: readonly T[],
  say: (line: string) => void,
  log: (line: string) => void = say,
): Promise<T[]> {
  const builds = stacks.flatMap((s) => (s.program.build && !s.release?.program ? [s.program.build] : []));
  const outcomes = await buildPeers(builds, log);
  const why = new Map<string, string[]>();
  const skip = (reason: string, id: string) => why.set(reason, [...(why.get(reason) ?? []), id]);
  let debian: string | null | undefined;
  const kept = stacks.filter((s) => {
    if (s.release?.program?.python === "debian") {
      debian ??= debianGrpcio();
      if (debian === null) skip("no Debian python3-grpcio (as root: apt-get install -y python3-grpcio)", s.id);
      return debian !== null;
    }
    const outcome = s.program.build && outcomes.get(s.program.build.dir);
    if (outcome && !outcome.ok) skip(outcome.why, s.id);
    return !outcome || outcome.ok;
  });
  for (const [reason, ids] of why) say(`${[...new Set(ids)].join(", ")} skipped: ${reason}`);
  return kept;
}
