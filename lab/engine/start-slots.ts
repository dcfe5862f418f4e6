import { availableParallelism } from "node:os";

/**
 * How many processes load at once. Loading a Node or Python program is
 * the costliest thing the lab does (~0.2-0.5 s of CPU); started all at once
 * on 2 cores, dozens of them take seconds each, and a server that was to be
 * ready ahead of its scene is late instead. One per core, and one more.
 */
const slots = availableParallelism() + 1;
let used = 0;
const waiting: (() => void)[] = [];

/** Runs `start` when a slot is free, and frees it when `start` settles. */
export async function whenSlotFree<T>(start: () => Promise<T>): Promise<T> {
  if (used >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
  used++;
  try {
    return await start();
  } finally {
    used--;
    waiting.shift()?.();
  }
}
