/**
 * Every relative link in the README and docs/ points at a file that exists:
 * the README is a few screens that send the reader on, and a dead link
 * there is a dead end.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.join(import.meta.dirname, "..");

test("the README's and docs' relative links resolve", () => {
  const pages = [
    "README.md",
    "bench/RESULTS.md",
    ...readdirSync(path.join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const dead: string[] = [];
  for (const page of pages) {
    const text = readFileSync(path.join(root, page), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(path.join(root, path.dirname(page), target))) dead.push(`${page}: ${target}`);
    }
  }
  assert.deepEqual(dead, []);
});
