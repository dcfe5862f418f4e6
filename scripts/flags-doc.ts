/**
 * docs/flags.md, written from each program's own --help, so that the
 * reference cannot drift from the code (docs/flags.test.ts checks it).
 *
 *   npm run docs:flags
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { commandOf, type Program } from "../lab/engine/programs.ts";

const root = path.join(import.meta.dirname, "..");
export const flagsDocPath = path.join(root, "docs", "flags.md");

/** A program of another language, as the lab runs it once built (the stack that needs it names it). */
const built = (stack: string, program: Program) => ({ stack, program });
const goProgram = (dir: string, name: string) =>
  built(`${name.replace(/-(server|client)$/, "")}`, {
    kind: "native",
    file: `peers/${dir}/bin/${name}`,
    build: { toolchain: "go", dir: `peers/${dir}` },
  });

/**
 * The programs, in the order a reader meets them: TypeScript run with tsx, or a program in
 * another language (`built`: its stack, to skip it where it is not built).
 */
export const programs: { file: string; built?: { stack: string; program: Program }; about: string }[] = [
  { file: "server.ts", about: "The Connect server (connect-node)." },
  { file: "client.ts", about: "The Connect client (connect-node)." },
  { file: "peers/grpc-js-server.ts", about: "The grpc-js server." },
  { file: "peers/grpc-js-client.ts", about: "The grpc-js client." },
  ...(["server", "client"] as const).map((role) => ({
    file: `peers/grpcio/${role}.py`,
    built: built("grpcio", {
      kind: "python",
      script: `peers/grpcio/${role}.py`,
      python: "venv",
      build: { toolchain: "python", dir: "peers/grpcio" },
    }),
    about: `The grpcio ${role} (gRPC core, Python; PyPI's grpcio in peers/grpcio/.venv).`,
  })),
  ...(["server", "client"] as const).map((role) => ({
    file: `peers/connect-go/cmd/connect-go-${role}`,
    built: goProgram("connect-go", `connect-go-${role}`),
    about: `The connect-go ${role} (net/http).`,
  })),
  ...(["server", "client"] as const).map((role) => ({
    file: `peers/grpc-go/cmd/grpc-go-${role}`,
    built: goProgram("grpc-go", `grpc-go-${role}`),
    about: `The grpc-go ${role}.`,
  })),
  ...(["Server", "Client"] as const).map((role) => ({
    file: `peers/grpc-java (lab.grpcjava.Chat${role})`,
    built: built("grpc-java", {
      kind: "java",
      mainClass: `lab.grpcjava.Chat${role}`,
      build: { toolchain: "maven", dir: "peers/grpc-java" },
    }),
    about: `The grpc-java ${role.toLowerCase()} (Netty).`,
  })),
  ...(["server", "client"] as const).map((role) => ({
    file: `peers/tonic (src/bin/tonic-${role}.rs)`,
    built: built("tonic", {
      kind: "native",
      file: `peers/tonic/target/release/tonic-${role}`,
      build: { toolchain: "cargo", dir: "peers/tonic" },
    }),
    about: `The tonic ${role}.`,
  })),
  { file: "peers/fault-peer.ts", about: "The fault peer: an HTTP/2 server that misbehaves on purpose." },
  {
    file: "peers/browser-client.ts",
    about: "The browser client: connect-web in headless Chromium or Firefox ESR (docs/tls-and-browsers.md).",
  },
  { file: "lab/main.ts", about: "The lab (`npm run lab -- FLAGS`)." },
  { file: "bench/main.ts", about: "The benchmark (`npm run bench -- FLAGS`)." },
];

/** A program's --help text, as it prints it. */
export async function helpOf(program: (typeof programs)[number]): Promise<string> {
  const command = program.built
    ? commandOf(program.built.program, ["--help"])
    : { file: process.execPath, args: ["--import", "tsx", program.file, "--help"] };
  const { stdout } = await promisify(execFile)(command.file, command.args, { cwd: root, encoding: "utf8" });
  return stdout.trimEnd();
}

/** What the programs print, in words (lib/server-log.ts, lib/call-report.ts). */
const printed = `## What the programs print

The servers (all seven) print \`listening on HOST:PORT (pid N, IMPLEMENTATION)\` once they accept
connections (scripts wait for it), then one line per event:

- \`stream N started: peer ADDRESS, protocol P\`
- \`stream N message I/COUNT sent to the socket\`: the Node servers print it when HTTP/2 framed the
  message and handed it to the socket (not when the handler produced it); the others print
  \`handed to gRPC core\` (grpcio), \`handed to net/http\`, \`handed to grpc-go\`, \`handed to
  grpc-java\` or \`handed to tonic\`: all they can know
- \`stream N write stalled: ...; reset with RST_STREAM(ENHANCE_YOUR_CALM)\`: the write-stall timeout, for
  a message not sent (the client's window is shut) or not even made (its connection's unsent replies
  are at their budget)
- \`stream N ended: CODE\`: the stream closed cleanly and its status went out (the Node servers); the
  handler returned CODE to its library (the others: they cannot see the status leave)
- \`stream N status not delivered: CODE (WHY)\`: the handler ended, but the stream closed first
- \`stream N client gone: CODE\`: the client cancelled, reset, hit its deadline or lost its connection
- \`stream N cancelled by HOW\`: the library's own immediate stop cut the stream off (grpc-js
  \`forceShutdown()\`, grpcio \`server.stop(0)\`, grpc-go \`Stop()\`, grpc-java \`shutdownNow()\`,
  net/http \`Close()\`); what its client reads is the library's
- \`shutdown: ...\`: each phase of a stop
- \`memory: heap used N bytes (...), rss N bytes (...)[, after gc], N handler(s) running\`: on SIGUSR2
  (Rust has no collector to ask: tonic's heap reads \`unknown\`)

The clients print \`calling HOST:PORT with STACK, protocol P (pid N)\`, a line per message with its
time since the call's start, and \`ended: CODE (NUMBER) "MESSAGE", N message(s) received\`. Exit
status: 0 on \`ok\`, 1 on an RPC error, 2 on a bad command line. \`--json\` adds a last line:
\`{"client","protocol","code","grpcCode","message","received","firstMessageMs","elapsedMs","arrivalsMs","endedAt"}\`
(\`endedAt\`: ms since the epoch, to time the call against other processes).
`;

/** The whole document. */
export async function flagsDoc(): Promise<string> {
  const helps = await Promise.all(programs.map(helpOf));
  const sections = programs.map((p, i) => `## \`${p.file}\`\n\n${p.about}\n\n\`\`\`text\n${helps[i]}\n\`\`\`\n`);
  return [
    "# Every flag",
    "",
    "Each program's `--help`, as it prints it (written by `npm run docs:flags`; a test fails when this",
    "file and the programs disagree). A bad flag is one line on stderr and exit 2, in every program.",
    "",
    ...sections,
    printed,
  ].join("\n");
}

if (process.argv[1] === import.meta.filename) {
  writeFileSync(flagsDocPath, await flagsDoc());
  process.stdout.write(`wrote ${path.relative(process.cwd(), flagsDocPath)}\n`);
}
