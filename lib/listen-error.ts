import { UsageError } from "./cli.ts";

/**
 * Turns a failed listen() into a one-line UsageError (exit 2): a port in use
 * or an address this machine does not have is a bad flag, not a crash.
 */
export function listenError(e: unknown, host: string, port: number): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return new UsageError(`--port ${port}: ${where} is already in use`);
    case "EACCES":
      return new UsageError(`--port ${port}: not allowed to listen on ${where}`);
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new UsageError(`--host ${host}: not an address of this machine`);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}
