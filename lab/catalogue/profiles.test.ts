import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { runLab } from "../testing/lab-cli.ts";
import { optionSections } from "./library-options.ts";
import { builtinProfiles, checkSections, profileArgs, readProfile, recommendedDeadlineMs } from "./profiles.ts";
import { defaultSettings } from "./settings.ts";

const dir = mkdtempSync(path.join(tmpdir(), "lab-profile-"));
const file = (name: string, text: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
};

test("every built-in profile names only options the catalogue knows, with values that fit them", () => {
  for (const name of Object.keys(builtinProfiles)) {
    const profile = readProfile(name, defaultSettings);
    assert.doesNotThrow(() => checkSections(profile.sections, name), name);
  }
});

test("a profile file round trip: what a user writes is what each stack's program gets, under the library's own names", () => {
  const recommended = readProfile("recommended", defaultSettings);
  const read = readProfile(file("mine.json", JSON.stringify(recommended.sections, null, 2)), defaultSettings);
  assert.deepEqual(read.sections, recommended.sections);
  // grpc-js takes its section in one --options JSON, as its channel options.
  const args = profileArgs(read, "client", "grpc-js");
  assert.equal(args[0], "--options");
  assert.deepEqual(JSON.parse(args[1]), recommended.sections["grpc-js"]);
  // grpcio's per-call deadline is its client's --timeout-ms, in ms.
  assert.deepEqual(profileArgs(read, "client", "grpcio").slice(0, 2), [
    "--timeout-ms",
    String(recommendedDeadlineMs(defaultSettings)),
  ]);
  // The Connect server's settings are its own flags (connect-node has none of these).
  assert.deepEqual(profileArgs(read, "server", "connect").slice(0, 2), [
    "--ping-interval-ms",
    String(2 * defaultSettings.keepalive.intervalMs),
  ]);
  // A service-config deadline is written with nine digits after the point: grpc-js reads the
  // digits as nanoseconds as they stand ("1.45s" would be 1 s and 45 ns).
  const config = recommended.sections["grpc-js"]["grpc.service_config"] as { methodConfig: { timeout: string }[] };
  assert.match(config.methodConfig[0].timeout, /^\d+\.\d{9}s$/);
});

test("a bad profile is a one-line error that names what is wrong", () => {
  const cases: [string, string, RegExp][] = [
    [
      "stack.json",
      '{"grpc-rust": {}}',
      /unknown stack "grpc-rust"; sections are connect-node, grpc-js, grpcio, .*tonic-server/,
    ],
    ["key.json", '{"grpc-js": {"grpc.keepalive_tme_ms": 1}}', /"grpc-js": unknown option "grpc.keepalive_tme_ms"/],
    [
      "value.json",
      '{"grpcio": {"grpc.keepalive_time_ms": -5}}',
      /"grpcio" "grpc.keepalive_time_ms": -5 is not an integer/,
    ],
    ["flag.json", '{"grpc-js": {"grpc.keepalive_permit_without_calls": true}}', /true is not 0 or 1/],
    ["bool.json", '{"connect-node": {"pingIdleConnection": 1}}', /1 is not true or false/],
    ["json.json", "{not json", /not JSON/],
    ["array.json", "[]", /a profile is a JSON object with one section per stack/],
  ];
  for (const [name, text, want] of cases) {
    assert.throws(
      () => readProfile(file(name, text), defaultSettings),
      (e: Error) => want.test(e.message) && !e.message.includes("\n"),
      name,
    );
  }
  assert.throws(
    () => readProfile("no-such-profile", defaultSettings),
    /is no built-in profile \(lab, defaults, recommended\) and no file/,
  );
  // Every section the catalogue has is one a profile may name.
  assert.deepEqual(
    optionSections.map((s) => s.id),
    [
      ...["connect-node", "grpc-js", "grpcio", "connect-node-server", "grpc-js-server", "grpcio-server"],
      // Issue 27.
      ...["connect-go", "connect-go-server", "grpc-go", "grpc-go-server", "grpc-java", "grpc-java-server"],
      ...["tonic", "tonic-server"],
    ],
  );
});

test("lab --profile with a bad file: one line, exit 2, before anything runs", async () => {
  const bad = file("cli.json", '{"grpcio-server": {"grpc.http2.max_ping_strikes": "two"}}');
  const { status, stdout, stderr } = await runLab(["--quick", "--profile", bad, "--cases", "normal"]);
  assert.equal(status, 2, stderr);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr, /"grpcio-server" "grpc.http2.max_ping_strikes": "two" is not an integer/);
  assert.doesNotMatch(stdout, /cells,/);
});
