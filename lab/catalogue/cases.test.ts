/**
 * The catalogue itself: every case can be named on the command line
 * (`--cases` splits on commas), once, and states what it expects.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { labCases } from "./cases.ts";

test("case ids are unique words that --cases can name", () => {
  const ids = labCases.map((c) => c.id);
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    "no id twice",
  );
  // A knob case names its option and value (issue 18): "base@section:option=value", no comma; an
  // option by its library's own name ("Server::max_connection_age_grace", issue 27).
  for (const id of ids) assert.match(id, /^[a-z0-9][a-z0-9:+/-]*(@[a-z-]+:[A-Za-z0-9._:]+=[a-z0-9]+)?$/, `"${id}"`);
});

test("every case states its rule with a citation", () => {
  for (const c of labCases) {
    assert.ok(c.expect.rule.length > 0, c.id);
    assert.ok(c.expect.cite.length > 0, c.id);
  }
});
