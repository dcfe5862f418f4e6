import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import puppeteer from "puppeteer-core";
import { labCases } from "../lab/catalogue/cases.ts";
import { htmlReport } from "../lab/reports/report-html.ts";
import type { LabResults } from "../lab/reports/results.ts";
import { UsageError } from "../lib/cli.ts";

/** Debian's Chromium (scripts/install-debian.sh): no browser is downloaded. */
export const chromiumPath = "/usr/bin/chromium";

export interface ReportLoadRow {
  /** The results.json the report was made from. */
  results: string;
  runs: number;
  resultsBytes: number;
  htmlBytes: number;
  /** Per load: navigation start to DOMContentLoaded, and to the load event, ms (the page's own clock). */
  domContentLoadedMs: number[];
  loadMs: number[];
  /** Opening the case with the most runs: its timelines drawn and laid out, ms. */
  openBiggestMs: number[];
  biggestCase: string;
  /** Page errors and console errors, over every load. */
  errors: string[];
}

/**
 * Opens report.html, as made from a run's results.json, in headless Chromium
 * `times` times (issue 20: usable in under 2 s for the default run), and
 * times the largest case's timelines being drawn.
 */
export async function measureReportLoad(resultsFile: string, times: number): Promise<ReportLoadRow> {
  if (!existsSync(chromiumPath))
    throw new UsageError(`report: no Chromium at ${chromiumPath} (scripts/install-debian.sh installs it)`);
  if (!existsSync(resultsFile)) throw new UsageError(`report: no ${resultsFile}: run the lab first (npm run lab)`);
  const results = JSON.parse(readFileSync(resultsFile, "utf8")) as LabResults;
  const dir = mkdtempSync(path.join(tmpdir(), "bench-report-"));
  const file = path.join(dir, "report.html");
  writeFileSync(file, htmlReport(results, labCases));
  const byCase = new Map<string, number>();
  for (const cell of results.cells) byCase.set(cell.case, (byCase.get(cell.case) ?? 0) + cell.runs.length);
  const biggestCase = [...byCase].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
  const row: ReportLoadRow = {
    results: resultsFile,
    runs: results.cells.reduce((n, c) => n + c.runs.length, 0),
    resultsBytes: statSync(resultsFile).size,
    htmlBytes: statSync(file).size,
    domContentLoadedMs: [],
    loadMs: [],
    openBiggestMs: [],
    biggestCase,
    errors: [],
  };
  // Its start is not what is measured: once, on 2 cores, it took past puppeteer's default 30 s.
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox"],
    timeout: 90_000,
  });
  try {
    for (let i = 0; i < times; i++) {
      const page = await browser.newPage();
      page.on("pageerror", (e) => row.errors.push(String(e)));
      page.on("console", (m) => m.type() === "error" && row.errors.push(m.text()));
      await page.goto(`file://${file}`, { waitUntil: "load" });
      const t = await page.evaluate((id) => {
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        const details = document.getElementById(id)?.querySelector("details");
        const start = performance.now();
        if (details) details.open = true;
        // The toggle event draws it; a layout read makes the browser do the work now.
        details?.dispatchEvent(new Event("toggle"));
        details?.getBoundingClientRect();
        document.body.offsetHeight;
        return { dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, open: performance.now() - start };
      }, biggestCase);
      row.domContentLoadedMs.push(Math.round(t.dcl));
      row.loadMs.push(Math.round(t.load));
      row.openBiggestMs.push(Math.round(t.open));
      await page.close();
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}
