/** The codes of calls as one outcome: "ok", "unavailable", "ok+unavailable"; ok first, hang last. */
export function channelOutcome(codes: readonly string[]): string {
  const rank = (code: string) => (code === "ok" ? 0 : code === "hang" ? 2 : 1);
  return [...new Set(codes)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).join("+") || "none";
}
