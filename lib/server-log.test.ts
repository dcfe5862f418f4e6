import assert from "node:assert/strict";
import { test } from "node:test";
import { exposureWarning } from "./server-log.ts";

test("binding beyond this machine is said once; loopback is silent", () => {
  for (const host of ["0.0.0.0", "::", "[::]"]) assert.match(exposureWarning(host) ?? "", /all interfaces/, host);
  assert.match(exposureWarning("192.168.1.20") ?? "", /not a loopback address/);
  for (const host of ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
    assert.equal(exposureWarning(host), undefined, host);
});
