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
import { findPython } from "../lab/engine/python.ts";

const root = path.join(import.meta.dirname, "..");
export const flagsDocPath = path.join(root, "docs", "flags.md");

/** The programs, in the order a reader meets them; `python` ones run on a Python with grpcio. */
export const programs: { file: string; python?: boolean; about: string }[] = [
  { file: "server.ts", about: "The Connect server (connect-node)." },
  { file: "client.ts", about: "The Connect client (connect-node)." },
  { file: "peers/grpc-js-server.ts", about: "The grpc-js server." },
  { file: "peers/grpc-js-client.ts", about: "The grpc-js client." },
  { file: "peers/grpcio-server.py", python: true, about: "The grpcio server (gRPC core, Python)." },
  { file: "peers/grpcio-client.py", python: true, about: "The grpcio client (gRPC core, Python)." },
  { file: "peers/fault-peer.ts", about: "The fault peer: an HTTP/2 server that misbehaves on purpose." },
  {
    file: "peers/browser-client.ts",
    about: "The browser client: connect-web in headless Chromium or Firefox ESR (docs/tls-and-browsers.md).",
  },
  { file: "lab/main.ts", about: "The lab (`npm run lab -- FLAGS`)." },
  { file: "bench/main.ts", about: "The benchmark (`npm run bench -- FLAGS`)." },
];

/** A program's --help text, as it prints it. */
export async function helpOf(program: { file: string; python?: boolean }): Promise<string> {
  const python = program.python ? findPython() : undefined;
  if (python === null) throw new Error(`${program.file}: no Python 3 with grpcio`);
  const [command, args] = python
    ? [python.path, [program.file, "--help"]]
    : [process.execPath, ["--import", "tsx", program.file, "--help"]];
  const { stdout } = await promisify(execFile)(command, args, { cwd: root, encoding: "utf8" });
  return stdout.trimEnd();
}

/** What the programs print, in words (lib/server-log.ts, lib/call-report.ts). */
const printed = `## What the programs print

The servers (all three) print \`listening on HOST:PORT (pid N, IMPLEMENTATION)\` once they accept
connections (scripts wait for it), then one line per event:

- \`stream N started: peer ADDRESS, protocol P\`
- \`stream N message I/COUNT sent to the socket\`: the Node servers print it when HTTP/2 framed the
  message and handed it to the socket (not when the handler produced it); grpcio prints
  \`handed to gRPC core\`, all it can know
- \`stream N write stalled: ...; reset with RST_STREAM(ENHANCE_YOUR_CALM)\`: the write-stall timeout, for
  a message not sent (the client's window is shut) or not even made (its connection's unsent replies
  are at their budget)
- \`stream N ended: CODE\`: the stream closed cleanly and its status went out
- \`stream N status not delivered: CODE (WHY)\`: the handler ended, but the stream closed first
- \`stream N client gone: CODE\`: the client cancelled, reset, hit its deadline or lost its connection
- \`stream N cancelled by HOW\`: the library's own immediate stop cut the stream off (grpc-js
  \`forceShutdown()\`, grpcio \`server.stop(0)\`); what its client reads is the library's
- \`shutdown: ...\`: each phase of a stop
- \`memory: heap used N bytes (...), rss N bytes (...)[, after gc], N handler(s) running\`: on SIGUSR2

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
