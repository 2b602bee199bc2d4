/** The API key store on DuckDB: rotation revokes every older key of the org and writes the new one at once. */
import assert from "node:assert/strict";
import { openCentral } from "./_central.ts";

Deno.test("rotating an org's key revokes its older keys, keeps other orgs' keys and runs the hook in the same transaction", async () => {
  const c = await openCentral();
  try {
    const { apiKeys } = c.stores;
    const now = new Date("2026-03-02T10:00:00.000Z");
    const first = await apiKeys.issue("acme", 24, now);
    const beta = await apiKeys.issue("beta", 24, now);
    await c.warehouse.transaction(async (tx) => {
      await apiKeys.insertIn(tx, first);
      await apiKeys.insertIn(tx, beta);
    });
    assert.equal((await apiKeys.lookup(first.apiKey))?.orgSlug, "acme");

    let seenInTx = -1;
    const rotated = await apiKeys.rotate("acme", { now, reason: "leaked" }, async (tx, r) => {
      const [row] = await tx.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM organizations.org_api_keys WHERE org_slug = 'acme' AND is_active = TRUE",
      );
      seenInTx = Number(row?.n);
      assert.equal(r.revoked, 1);
    });
    assert.equal(seenInTx, 1, "inside the transaction only the new key is active");
    assert.equal(rotated.revoked, 1);
    assert.notEqual(rotated.key.apiKey, first.apiKey);
    assert.equal(await apiKeys.lookup(first.apiKey), null, "the old key stops working at once on this instance");
    assert.equal((await apiKeys.lookup(rotated.key.apiKey))?.orgSlug, "acme");
    assert.equal((await apiKeys.lookup(beta.apiKey))?.orgSlug, "beta");
    const [reason] = await c.warehouse.query<{ revocation_reason: string }>(
      "SELECT revocation_reason FROM organizations.org_api_keys WHERE org_api_key_id = @id",
      { id: first.keyId },
    );
    assert.equal(reason?.revocation_reason, "leaked");
  } finally {
    await c.close();
  }
});

Deno.test("a rotation whose hook fails changes nothing: the old key keeps working", async () => {
  const c = await openCentral();
  try {
    const { apiKeys } = c.stores;
    const now = new Date("2026-03-02T10:00:00.000Z");
    const first = await apiKeys.issue("acme", 24, now);
    await c.warehouse.transaction((tx) => apiKeys.insertIn(tx, first));
    await assert.rejects(
      apiKeys.rotate("acme", { now, reason: "rotated" }, () => Promise.reject(new Error("hook failed"))),
      /hook failed/,
    );
    apiKeys.forgetAll();
    assert.equal((await apiKeys.lookup(first.apiKey))?.orgSlug, "acme");
  } finally {
    await c.close();
  }
});
