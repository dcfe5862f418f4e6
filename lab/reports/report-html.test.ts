/**
 * The report of a small real run (issue 20): the findings it leads with,
 * drawn from the results and the catalogue, the evidence one link away, and
 * the page as a browser shows it (Debian's Chromium, headless).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import puppeteer from "puppeteer-core";
import { labCases } from "../catalogue/cases.ts";
import { quickSettings } from "../catalogue/settings.ts";
import { stopAllChildren } from "../engine/child-process.ts";
import { runCases } from "../testing/run-cases.ts";
import { findFindings } from "./findings.ts";
import { htmlReport } from "./report-html.ts";
import type { CellResult, LabResults } from "./results.ts";

let cells: CellResult[] = [];
before(async () => {
  cells = await runCases({
    cases: ["crash", "suspend", "suspend+keepalive", "suspend+deadline", "rst-stream:8"],
    servers: ["connect", "fault-peer"],
    clients: ["connect/grpc", "grpc-js/grpc"],
    settings: quickSettings,
  });
});
after(() => stopAllChildren());

test("a suspension nobody hears, and the remedies that end it, with their codes and times", () => {
  const hang = findFindings(cells, labCases).filter((f) => f.kind === "hang");
  assert.equal(hang.length, 1, JSON.stringify(hang));
  assert.deepEqual(hang[0].cases, ["suspend", "suspend+keepalive", "suspend+deadline"]);
  assert.match(hang[0].text, /^suspend: every client waits for good without a remedy; what ended it: /);
  assert.match(hang[0].text, /keepalive: every client, unavailable \(\d+(–\d+)? ms\)/);
  assert.match(hang[0].text, /deadline: every client, deadline_exceeded \(\d+(–\d+)? ms\)/);
});

test("a departure names the stacks, their code, the rule and the reason; agreeing cases make none", () => {
  const departures = findFindings(cells, labCases).filter((f) => f.kind === "departure");
  // connect-node reads a crash as canceled (or aborted after an RST); grpc-js keeps to the rule.
  const crash = departures.find((f) => f.cases[0] === "crash");
  assert.ok(crash, JSON.stringify(departures));
  assert.match(
    crash.text,
    /^crash: connect-node (canceled|aborted)[^,;]*, where the rule calls for unavailable\. Why: Node reports a dropped connection/,
  );
  assert.doesNotMatch(crash.text, /grpc-js/);
  // RST_STREAM(CANCEL) is canceled for everyone, as the rule says.
  assert.equal(
    departures.find((f) => f.cases[0] === "rst-stream:8"),
    undefined,
  );
});

const meta = () => ({
  startedAt: new Date().toISOString(),
  node: process.version,
  versions: {},
  settings: {},
  mode: "agents",
  tap: true,
  wallMs: 1,
  cpu: null,
  processes: 0,
  agents: [],
  labEventLoopDelayMs: null,
});

test("report.html leads with the findings, and every finding's links lead to a case on the page", () => {
  const html = htmlReport({ meta: meta(), cells } as unknown as LabResults, labCases);
  const findings = html.indexOf('id="findings"');
  assert.ok(findings > 0 && findings < html.indexOf('class="matrix"'), "the findings come before the tables");
  const ids = new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
  const section = html.slice(findings, html.indexOf("</section>", findings));
  const links = [...section.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
  assert.ok(links.length >= 2, section);
  for (const link of links) assert.ok(ids.has(link), `#${link} is on the page`);
});

const chromium = "/usr/bin/chromium";

test("in Chromium: the page loads without an error, the overview's squares lead to cases, a case's timelines draw when opened", {
  skip: !existsSync(chromium) && "no Chromium (scripts/install-debian.sh installs it)",
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lab-report-"));
  const file = path.join(dir, "report.html");
  writeFileSync(file, htmlReport({ meta: meta(), cells } as unknown as LabResults, labCases));
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`file://${file}`, { waitUntil: "load" });
    const found = await page.evaluate(() => {
      const links = [...document.querySelectorAll("#overview td a")].map((a) => a.getAttribute("href") ?? "");
      return {
        squares: links.length,
        dangling: links.filter((h) => !document.getElementById(decodeURIComponent(h.slice(1)))),
        svgBefore: document.querySelectorAll(".case svg").length,
      };
    });
    assert.ok(found.squares >= 10, `${found.squares} squares`);
    assert.deepEqual(found.dangling, []);
    assert.equal(found.svgBefore, 0, "timelines are drawn only when opened");
    // A link to a case opens its timelines.
    await page.goto(`file://${file}#crash`, { waitUntil: "load" });
    const drawn = await page.evaluate(() => document.querySelectorAll("#crash svg").length);
    assert.ok(drawn >= 1, "the crash case's timelines are drawn");
    // The filters hide a server's columns.
    const hidden = await page.evaluate(() => {
      const box = document.querySelector<HTMLInputElement>('#filters input[value="server:fault-peer"]');
      if (!box) return -1;
      box.click();
      return [...document.querySelectorAll<HTMLElement>('#overview [data-server="fault-peer"]')].filter(
        (el) => el.style.display === "none",
      ).length;
    });
    assert.ok(hidden > 0, `${hidden} fault-peer cells hidden`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
