import type { Browser, Page } from "puppeteer-core";
import type { CallEnd, Caller } from "../../lib/caller.ts";
import { UsageError } from "../../lib/cli.ts";
import { authority, type ClientSettings } from "../../lib/client-flags.ts";
import { fromEpoch } from "../../lib/wall-clock.ts";
import type { PageCall, PageEnd, PageEvent } from "./page.ts";

/**
 * A browser's way to make the lab's calls (issue 19): each call in a page of
 * its own, loaded at the server's origin, where connect-web calls with the
 * page's own `fetch` (peers/browser/page.ts). The page is served by the
 * driver, not the server: its one request is answered before it leaves the
 * browser, so the first connection to the server is the call's.
 */
export interface BrowserCallerOptions {
  browser: Browser;
  /** The page's script (the bundle of peers/browser/page.ts). */
  script: string;
}

/** The flags a page has no way to honour: a browser tab sets no keepalive and calls one address. */
export function refuseBrowserFlags(settings: ClientSettings, program: string): void {
  const refused = [
    settings.pingIntervalMs !== undefined && "--ping-interval-ms",
    settings.pingTimeoutMs !== undefined && "--ping-timeout-ms",
    settings.pingIdle && "--ping-idle",
    settings.target !== undefined && "--target",
    settings.lbPolicy !== undefined && "--lb-policy",
    settings.waitForReady && "--wait-for-ready",
    settings.healthCheck && "--health-check",
    settings.retryAttempts > 1 && "--retry",
    settings.method !== "chat" && "--health/--watch-health",
    Object.keys(settings.libraryOptions).length > 0 && "--options",
  ].filter(Boolean);
  if (refused.length > 0) {
    throw new UsageError(
      `${refused.join(", ")}: not in ${program}: a page cannot set HTTP/2 keepalive, calls one origin, and has the Chat call only`,
    );
  }
  if (!settings.tlsCa) throw new UsageError(`browsers speak HTTP/2 only over TLS: give --tls-ca (${program})`);
}

/** The page the driver serves at the server's origin: no favicon request, the call's script. */
const html = (script: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>lab</title></head><body><script>${script}</script></body></html>`;

export function createBrowserCaller(settings: ClientSettings, options: BrowserCallerOptions): Caller {
  const origin = `https://${authority(settings.host, settings.port)}`;
  const pages = new Set<Page>();
  return {
    startsLate: true,
    close() {
      for (const page of pages) void page.close().catch(() => {});
    },
    async call(reporter, interrupt, overrides = {}): Promise<CallEnd> {
      const call = { ...settings, ...overrides };
      const page = await options.browser.newPage();
      pages.add(page);
      try {
        let heard = 0;
        let started = false;
        /** The call's start by the page's clock, as this process's performance.now(): the axis of every agent. */
        const start = (at: number) => {
          if (!started) reporter.started(fromEpoch(at));
          started = true;
        };
        await page.exposeFunction("labEvent", (event: PageEvent) => {
          if (event.event === "start") return start(event.at);
          heard++;
          const sentAt = event.sentAt === undefined ? undefined : new Date(event.sentAt);
          reporter.message(event.index, event.text, sentAt, fromEpoch(event.at));
        });
        await page.setRequestInterception(true);
        const served = new Promise<void>((resolve) => {
          page.once("request", (request) => {
            void request.respond({ status: 200, contentType: "text/html", body: html(options.script) });
            resolve();
          });
        });
        await page.goto(`${origin}/lab-page`, { waitUntil: "load" });
        await served;
        // From here on the page's requests go to the network as they would in any tab.
        await page.setRequestInterception(false);
        const onInterrupt = () =>
          void page
            .evaluate((reason) => window.labAbort(reason), String(interrupt.reason ?? "interrupted"))
            .catch(() => {});
        if (interrupt.aborted) onInterrupt();
        interrupt.addEventListener("abort", onInterrupt, { once: true });
        const args: PageCall = {
          protocol: call.protocol === "grpc-web" ? "grpc-web" : "connect",
          name: call.name,
          text: call.text,
          ...(call.timeoutMs !== undefined && { timeoutMs: call.timeoutMs }),
          ...(call.idleTimeoutMs !== undefined && { idleTimeoutMs: call.idleTimeoutMs }),
        };
        try {
          const end: PageEnd = await page.evaluate((a) => window.labCall(a), args);
          // The page's events and this answer travel apart. The start comes with the end too: a call
          // that failed at once (no server) could end before its start event arrived (seen in
          // Firefox, and the call was timed from before its page loaded). Every message the page
          // told of is reported before the end; a lost event holds the end a second at most.
          start(end.startedAt);
          for (const until = performance.now() + 1000; heard < end.received && performance.now() < until; ) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return { code: end.code, message: end.message, at: fromEpoch(end.endedAt) };
        } finally {
          interrupt.removeEventListener("abort", onInterrupt);
        }
      } finally {
        pages.delete(page);
        await page.close().catch(() => {});
      }
    },
  };
}
