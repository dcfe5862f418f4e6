import assert from "node:assert/strict";
import { test } from "node:test";
import { createHealthStatus, ServingStatus } from "./health-status.ts";

test("check: SERVING for the server and its services, undefined for others", () => {
  const health = createHealthStatus({ services: ["chat.v1.ChatService"] });
  assert.equal(health.check(""), ServingStatus.SERVING);
  assert.equal(health.check("chat.v1.ChatService"), ServingStatus.SERVING);
  assert.equal(health.check("nope.v1.Nope"), undefined);
  health.setAll(ServingStatus.NOT_SERVING);
  assert.equal(health.check(""), ServingStatus.NOT_SERVING);
});

test("watch: the status now, each change, then the end's reason", async () => {
  const health = createHealthStatus({ services: [] });
  const seen: ServingStatus[] = [];
  const watching = (async () => {
    for await (const status of health.watch("", new AbortController().signal)) {
      seen.push(status);
      if (seen.length === 1) setImmediate(() => health.setAll(ServingStatus.NOT_SERVING));
      if (seen.length === 2) setImmediate(() => health.endWatches(new Error("shutting down")));
    }
  })();
  await assert.rejects(watching, /shutting down/);
  assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
});

test("watch: an unknown service reads SERVICE_UNKNOWN and stays open until the caller leaves", async () => {
  const health = createHealthStatus({ services: [] });
  const abort = new AbortController();
  const seen: ServingStatus[] = [];
  const watching = (async () => {
    for await (const status of health.watch("nope", abort.signal)) {
      seen.push(status);
      setTimeout(() => abort.abort(new Error("caller left")), 20);
    }
  })();
  await assert.rejects(watching, /caller left/);
  assert.deepEqual(seen, [ServingStatus.SERVICE_UNKNOWN]);
});
