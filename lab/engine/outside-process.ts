import type { Child, Exit } from "./child-process.ts";

/**
 * The Child of a server the lab did not start (--target, issue 28): it has
 * no process the lab may signal, stop or read. Its `exited` never settles,
 * and stop() leaves the server alone.
 */
export function outsideProcess(name: string): Child {
  const never = new Promise<Exit>(() => {});
  return {
    pid: -1,
    entry: name,
    lines: [],
    onLine() {},
    write: () => false,
    stderr: () => "",
    waitForLine: () => Promise.reject(new Error(`${name} is not the lab's: it prints nothing to the lab`)),
    exited: never,
    exit: undefined,
    setNiceness() {},
    signal(signal) {
      throw new Error(`not sending ${signal} to ${name}: the lab signals only the processes it started`);
    },
    stop: async () => ({ code: null, signal: null, at: performance.now() }),
  };
}
