/**
 * A promise's value, or undefined once `ms` passed, whichever comes first.
 * The timer is cleared when the promise wins: a bare race with a sleep
 * leaves the sleep pending, and it keeps a finished lab alive until it
 * fires (a channel's settle step: seconds).
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timeout = new AbortController();
  const expired = new Promise<undefined>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    timeout.signal.addEventListener("abort", () => clearTimeout(timer));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    timeout.abort();
  }
}
