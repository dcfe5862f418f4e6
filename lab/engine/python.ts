import { execFileSync } from "node:child_process";

/** A Python 3 that has grpcio, with the version it runs. */
export interface Python {
  path: string;
  grpcio: string;
}

/** How to add grpcio, in one line, for where it is missing. */
export const grpcioHint =
  "on Debian or Ubuntu: apt-get install python3-grpcio python3-grpc-tools; elsewhere: pip install grpcio grpcio-tools";

let found: Python | null | undefined;

/**
 * The Python the grpcio programs run on: Debian's /usr/bin/python3 first
 * (where apt puts grpcio; a pyenv python3 earlier on PATH may lack it), then
 * python3 on PATH; null when neither imports grpcio. Asked once.
 */
export function findPython(): Python | null {
  if (found !== undefined) return found;
  found = null;
  for (const candidate of [process.env.LAB_PYTHON, "/usr/bin/python3", "python3"]) {
    if (!candidate) continue;
    try {
      const version = execFileSync(candidate, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 10_000,
      }).trim();
      found = { path: candidate, grpcio: version };
      break;
    } catch {
      // Not there, or without grpcio: the next one.
    }
  }
  return found;
}
