/**
 * Promise.all that waits for every promise before it rejects: work that
 * opens things (relays, calls) must all have ended before a scene's cleanup
 * runs, or what a slower one opens after the cleanup is never closed (a
 * relay left listening kept a finished lab alive, issue 22).
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
