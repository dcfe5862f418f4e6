/**
 * The Chat client in a real browser (issue 19): headless Chromium or
 * Firefox ESR from Debian, driven with puppeteer-core (which uses the
 * installed browser and downloads none), each call made by connect-web in a
 * page of its own (peers/browser/page.ts), with the same flags, printed lines
 * and JSON result as client.ts for what a page can do.
 *
 *   node --import tsx peers/browser-client.ts --browser firefox --protocol connect --port 8443 --tls-ca ca.pem
 *
 * The lab's certificate authority is not in the browser's store: the
 * browser is started accepting the server's certificate (WebDriver's
 * acceptInsecureCerts), which changes nothing else of the connection.
 * With --agent it is the lab's client agent (lib/client-agent.ts).
 */
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { type Browser, launch } from "puppeteer-core";
import { type FlagSpecs, parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { runClientAgent } from "../lib/client-agent.ts";
import { clientFlags, type Protocol, readClientSettings } from "../lib/client-flags.ts";
import { runCalls } from "../lib/run-calls.ts";
import { createBrowserCaller, refuseBrowserFlags } from "./browser/browser-caller.ts";
import { type BrowserKind, browserExecutable, browserKinds } from "./browser/browsers.ts";
import { pageBundleOptions } from "./browser/page-bundle.ts";

const program = "browser-client";
const protocols: readonly Protocol[] = ["connect", "grpc-web"];

const flags: FlagSpecs = {
  browser: { type: "string", help: `which browser: ${browserKinds.join(", ")}`, default: "chromium" },
  page: {
    type: "string",
    help: "the page's script, bundled (the lab passes dist/peers/browser/page.js)",
    default: "bundled from peers/browser/page.ts at start",
  },
  ...clientFlags,
  protocol: {
    ...clientFlags.protocol,
    help: "wire protocol: connect or grpc-web (what connect-web speaks)",
    default: "connect",
  },
};

/** The SHA-256 of each certificate's public key in a PEM file, base64: what Chromium's SPKI list takes. */
function spkiHashes(pem: Buffer): string[] {
  return (pem.toString("latin1").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (cert) =>
      createHash("sha256")
        .update(new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" }))
        .digest("base64"),
  );
}

/** The page's script: the lab's bundle, or one made now from the source beside this file. */
async function pageScript(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    if (!existsSync(file)) throw new UsageError(`--page: ${file} does not exist`);
    return readFileSync(file, "utf8");
  }
  const { build } = await import("esbuild");
  const result = await build(pageBundleOptions(new URL("./browser/page.ts", import.meta.url).pathname));
  return result.outputFiles?.[0]?.text ?? "";
}

runCli(program, async () => {
  const parsed = parseFlags({ program, summary: "one Chat call with connect-web in a headless browser", flags });
  const kind = stringFlag(parsed, "browser", "chromium") as BrowserKind;
  if (!browserKinds.includes(kind))
    throw new UsageError(`--browser must be one of ${browserKinds.join(", ")}, got "${kind}"`);
  const { browser: _, page: __, ...own } = parsed;
  const settings = readClientSettings({ protocol: "connect", ...own }, protocols);
  if (!settings.agent) refuseBrowserFlags(settings, program);
  const executable = browserExecutable(kind);
  if (!executable)
    throw new UsageError(
      `--browser ${kind}: not installed (apt-get install ${kind === "firefox" ? "firefox-esr" : "chromium"})`,
    );
  const script = await pageScript(typeof parsed.page === "string" ? parsed.page : undefined);
  // Chromium trusts the CA by its key where the server sends it in its chain; accepting any
  // certificate instead made it open and drop three TLS connections before each call's real one
  // (the tap showed them). Firefox accepts the certificate at the first handshake.
  const spki = kind === "chromium" && settings.tlsCa ? spkiHashes(settings.tlsCa) : [];
  const browser: Browser = await launch({
    browser: kind === "firefox" ? "firefox" : "chrome",
    executablePath: executable,
    headless: true,
    acceptInsecureCerts: spki.length === 0,
    // Chromium's sandbox needs user namespaces a root process does not get here; a page of the
    // lab's own loads nothing else. Background tabs must keep their timers: every call has its own.
    args:
      kind === "chromium"
        ? [
            "--no-sandbox",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            ...(spki.length > 0 ? [`--ignore-certificate-errors-spki-list=${spki.join(",")}`] : []),
          ]
        : [],
    // Each call's page is a tab, and all but one are in the background, where Firefox holds timers
    // back to 1 s (dom.min_background_timeout_value): an 800 ms idle timeout fired after 1.2 s and
    // calls read as hangs in the first --browsers run. Timers run as in the tab in front, as in
    // Chromium with the flags above.
    ...(kind === "firefox" && {
      extraPrefsFirefox: {
        "dom.min_background_timeout_value": 4,
        "dom.min_background_timeout_value_without_budget_throttling": 4,
        "dom.timeout.enable_budget_timer_throttling": false,
      },
    }),
    // The lab ends this process with signals of its own: the browser goes with it (below).
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const version = await browser.version();
  // However this process ends, the browser it started ends too.
  // puppeteer starts it in a process group of its own, with helpers of its own (Firefox's crash
  // helper leaves its parent): the whole group goes.
  const endBrowser = () => {
    const pid = browser.process()?.pid;
    try {
      if (pid !== undefined) process.kill(-pid, "SIGKILL");
    } catch {
      browser.process()?.kill("SIGKILL");
    }
  };
  process.on("exit", endBrowser);
  for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(143));
  const createCaller = (s: typeof settings) => createBrowserCaller(s, { browser, script });
  if (settings.agent) {
    runClientAgent({
      client: kind,
      program: `${program} (${version})`,
      protocols,
      createCaller,
      refuse: (s) => refuseBrowserFlags(s, program),
    });
    return;
  }
  await runCalls({ client: kind, settings, caller: createCaller(settings) });
});
