import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { profilesDoc, profilesDocPath } from "./profiles-doc.ts";

/** Biome aligns markdown tables (npm run docs:flags runs it): their padding is not the content. */
const content = (text: string) =>
  text
    .split("\n")
    .map((line) => (line.startsWith("|") ? line.replace(/\s+/g, " ").replace(/-{3,}/g, "---") : line))
    .join("\n");

test("docs/profiles.md states the option catalogue and the built-in profiles as the code has them", () => {
  const committed = readFileSync(profilesDocPath, "utf8");
  assert.equal(content(committed), content(profilesDoc(committed)), "docs/profiles.md is stale: npm run docs:flags");
});
