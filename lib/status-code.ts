import { Code } from "@connectrpc/connect";

/**
 * The name of a status code as the Connect protocol writes it ("ok",
 * "canceled", "deadline_exceeded", ...). Connect's Code enum and gRPC's status
 * numbers are the same numbers, so one table serves both stacks.
 * See https://connectrpc.com/docs/protocol#error-codes
 */
export function codeName(code: number): string {
  if (code === 0) return "ok";
  const name = Code[code];
  if (name === undefined) return `code_${code}`;
  return name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/** Every code name, ok first, in numeric order. */
export const codeNames: readonly string[] = Array.from({ length: 17 }, (_, i) => codeName(i));
