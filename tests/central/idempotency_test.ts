/** The idempotency store on DuckDB: the earliest claim of a key wins, and its answer replaces the pending row. */
import assert from "node:assert/strict";
import { openCentral } from "./_central.ts";
import type { HeldKey } from "../../src/central/mod.ts";

function held(claimId: string, now: Date): HeldKey {
  return {
    scope: "_root",
    key: "k-1",
    claimId,
    hash: "h",
    method: "POST",
    path: "/api/v1/organizations/onboard",
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3600_000).toISOString(),
  };
}

Deno.test("of two claims of one key the earlier wins, and the stored answer is found instead of the pending row", async () => {
  const c = await openCentral();
  try {
    const { idempotency } = c.stores;
    const now = new Date("2026-03-02T10:00:00.000Z");
    const first = held("2026-03-02T10:00:00.000Z_a", now);
    assert.equal(await idempotency.claim(first, now), true);
    assert.equal((await idempotency.find("_root", "k-1", now))?.status_code, null, "a pending row");
    assert.equal(await idempotency.claim(held("2026-03-02T10:00:00.001Z_b", now), now), false);
    const rows = await c.warehouse.query("SELECT * FROM organizations.org_idempotency_keys");
    assert.equal(rows.length, 1, "the losing claim removed its own row");

    await c.warehouse.transaction((tx) => idempotency.storeIn(tx, first, 201, { org_slug: "acme" }));
    const found = await idempotency.find("_root", "k-1", now);
    assert.equal(found?.status_code, 201);
    assert.deepEqual(found?.response, { org_slug: "acme" });
    await idempotency.release("_root", "k-1", first.claimId);
    assert.ok(await idempotency.find("_root", "k-1", now), "release never deletes an answer");
    assert.equal(await idempotency.find("_root", "k-1", new Date(now.getTime() + 7200_000)), undefined, "expired");
  } finally {
    await c.close();
  }
});
