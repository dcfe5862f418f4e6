import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { profilesDoc, profilesDocPath } from "./profiles-doc.ts";

test("docs/profiles.md states the option catalogue and the built-in profiles as the code has them", () => {
  const committed = readFileSync(profilesDocPath, "utf8");
  assert.equal(committed, profilesDoc(committed), "docs/profiles.md is stale: npm run docs:flags");
});
