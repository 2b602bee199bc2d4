/**
 * `Idempotency-Key` on the root key's POSTs under /organizations: the first 2xx response is replayed for 24 h
 * (its one-time api_key kept only as a vault ciphertext), another request with the key is 422, concurrent
 * requests with one key make one org, a failed request frees its key, and the header is validated.
 */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "./_harness.ts";
import { requestHash, takesIdempotencyKey } from "../../runtime/idempotency.ts";

const body = (slug: string, plan = "STARTER") => ({
  org_slug: slug,
  company_name: `${slug} Inc`,
  admin_email: "ops@example.test",
  subscription_plan: plan,
});
const onboard = (h: Harness, key: string, b: unknown) =>
  h.request("POST", "/api/v1/organizations/onboard", { root: true, body: b, headers: { "Idempotency-Key": key } });

async function count(h: Harness, table: string, slug: string): Promise<number> {
  const [r] = await h.deps.warehouse.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM organizations.${table} WHERE org_slug = @s`,
    { s: slug },
  );
  return Number(r!.n);
}

Deno.test("Idempotency-Key on onboard and key rotation", async (t) => {
  const h = await startHarness();
  try {
    await h.bootstrap();

    await t.step(
      "a repeat with the same key and body returns the same status and body, and onboards once",
      async () => {
        const first = await onboard(h, "onb-0001", body("idem_one"));
        assert.equal(first.status, 201, first.text);
        assert.equal(first.headers.get("Idempotent-Replayed"), null);
        const second = await onboard(h, "onb-0001", body("idem_one"));
        assert.equal(second.status, 201, second.text);
        assert.deepEqual(second.json, first.json);
        assert.equal(second.headers.get("Idempotent-Replayed"), "true");
        // Key order and whitespace do not make another request.
        const reordered = await h.request("POST", "/api/v1/organizations/onboard", {
          root: true,
          raw: JSON.stringify(Object.fromEntries(Object.entries(body("idem_one")).reverse()), null, 2),
          headers: { "Idempotency-Key": "onb-0001" },
        });
        assert.equal(reordered.status, 201);
        assert.equal(reordered.json.api_key, first.json.api_key);
        assert.equal(await count(h, "org_profiles", "idem_one"), 1);
        assert.equal(await count(h, "org_api_keys", "idem_one"), 1);
        const works = await h.request("GET", "/api/v1/integrations/idem_one", { key: second.json.api_key });
        assert.equal(works.status, 200);
      },
    );

    await t.step("the stored response keeps the api_key only encrypted by the vault, for 24 h", async () => {
      const first = await onboard(h, "onb-seal", body("idem_seal"));
      assert.equal(first.status, 201);
      const apiKey: string = first.json.api_key;
      const rows = await h.deps.warehouse.query<Record<string, unknown>>(
        `SELECT status_code, response, created_at, expires_at FROM organizations.org_idempotency_keys
         WHERE org_slug = '_root' AND idempotency_key = 'onb-seal'`,
      );
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.equal(row.status_code, 201);
      assert.ok(!JSON.stringify(row).includes(apiKey.slice(-24)), "no clear api_key in the row");
      const sealed = (row.response as { api_key: { vault: string } }).api_key.vault;
      const aad = { org_slug: "idem_seal", provider: "IDEMPOTENCY_KEY:_root:onb-seal" };
      assert.equal(await h.deps.vault.decrypt(sealed, aad), apiKey);
      await assert.rejects(
        h.deps.vault.decrypt(sealed, { ...aad, provider: "IDEMPOTENCY_KEY:_root:onb-other" }),
        /Cannot decrypt/,
      );
      const ttl = Date.parse(String(row.expires_at)) - Date.parse(String(row.created_at));
      assert.equal(ttl, 24 * 3600_000);
    });

    await t.step("the same key with a different body is 422 IDEMPOTENCY_KEY_REUSED and runs nothing", async () => {
      const r = await onboard(h, "onb-0001", body("idem_other"));
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, "IDEMPOTENCY_KEY_REUSED");
      assert.match(r.json.error.message, /Idempotency-Key/);
      assert.equal(await count(h, "org_profiles", "idem_other"), 0);
    });

    await t.step("after 24 h the key is forgotten: it may be used for another request", async () => {
      await h.deps.warehouse.execute(
        `UPDATE organizations.org_idempotency_keys SET created_at = created_at - INTERVAL 25 HOUR,
         expires_at = expires_at - INTERVAL 25 HOUR WHERE idempotency_key = 'onb-0001'`,
      );
      const r = await onboard(h, "onb-0001", body("idem_other"));
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.org_slug, "idem_other");
      const replay = await onboard(h, "onb-0001", body("idem_other"));
      assert.equal(replay.json.api_key, r.json.api_key);
      const [n] = await h.deps.warehouse.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM organizations.org_idempotency_keys WHERE idempotency_key = 'onb-0001'",
      );
      assert.equal(Number(n!.n), 1, "the expired row was deleted");
    });

    await t.step("concurrent requests with one key make one org and all get its key", async () => {
      const all = await Promise.all(Array.from({ length: 5 }, () => onboard(h, "onb-race", body("idem_race"))));
      for (const r of all) assert.equal(r.status, 201, r.text);
      assert.equal(new Set(all.map((r) => r.json.api_key)).size, 1);
      assert.equal(await count(h, "org_profiles", "idem_race"), 1);
      assert.equal(await count(h, "org_api_keys", "idem_race"), 1);
    });

    await t.step("a key another process holds is 409 IDEMPOTENCY_IN_PROGRESS; a stale hold is taken over", async () => {
      const claim = async (key: string, minutesAgo: number) => {
        const at = new Date(Date.now() - minutesAgo * 60_000);
        await h.deps.warehouse.execute(
          `INSERT INTO organizations.org_idempotency_keys
           (org_slug, idempotency_key, request_hash, method, path, status_code, response, created_at, expires_at)
           SELECT '_root', @key, @hash, 'POST', '/api/v1/organizations/onboard', NULL, '{"claim_id":"0"}',
                  CAST(@at AS TIMESTAMP), CAST(@at AS TIMESTAMP) + INTERVAL 24 HOUR`,
          {
            key,
            at: at.toISOString(),
            hash: requestHash("POST", "/api/v1/organizations/onboard", body("idem_held")),
          },
        );
      };
      await claim("onb-held", 0);
      const held = await onboard(h, "onb-held", body("idem_held"));
      assert.equal(held.status, 409, held.text);
      assert.equal(held.json.error.code, "IDEMPOTENCY_IN_PROGRESS");
      assert.equal(held.headers.get("Retry-After"), "1");
      assert.equal(await count(h, "org_profiles", "idem_held"), 0);
      await claim("onb-stale", 6);
      const stale = await onboard(h, "onb-stale", body("idem_held"));
      assert.equal(stale.status, 201, stale.text);
    });

    await t.step("a failed request stores nothing: its key is free for the retry", async () => {
      const refused = await onboard(h, "onb-fail", body("idem_one"));
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, "ORG_EXISTS");
      const next = await onboard(h, "onb-fail", body("idem_fresh"));
      assert.equal(next.status, 201, next.text);
    });

    await t.step("a malformed header is 400 naming Idempotency-Key, without echoing it", async () => {
      for (const bad of ["", "x".repeat(256), "has space", "pipe|in", "idem_one_api_ABCDEFGHIJKLMNOPQRSTUVWX;"]) {
        const r = await onboard(h, bad, body("idem_bad"));
        assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
        assert.equal(r.json.error.code, "VALIDATION_ERROR");
        assert.match(r.json.error.message, /Header "Idempotency-Key"/);
        if (bad) assert.ok(!r.text.includes(bad), "the value is not echoed");
      }
      assert.equal(await count(h, "org_profiles", "idem_bad"), 0);
      const ok = await onboard(h, "x".repeat(255), body("idem_bad"));
      assert.equal(ok.status, 201);
    });

    await t.step("a repeated rotation with one key returns the same new key and revokes nothing more", async () => {
      const rotate = (key: string) =>
        h.request("POST", "/api/v1/organizations/idem_race/api-key/rotate", {
          root: true,
          body: { reason: "leak" },
          headers: { "Idempotency-Key": key },
        });
      const first = await rotate("rot-1");
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.revoked_keys, 1);
      const again = await rotate("rot-1");
      assert.deepEqual(again.json, first.json);
      assert.equal((await h.request("GET", "/api/v1/integrations/idem_race", { key: first.json.api_key })).status, 200);
      assert.equal(await count(h, "org_api_keys", "idem_race"), 2, "one rotation happened");
      // The org's own key has its own scope: the root's "rot-1" is not replayed to it.
      const byOrg = await h.request("POST", "/api/v1/organizations/idem_race/api-key/rotate", {
        key: first.json.api_key,
        body: { reason: "leak" },
        headers: { "Idempotency-Key": "rot-1" },
      });
      assert.equal(byOrg.status, 200, byOrg.text);
      assert.notEqual(byOrg.json.api_key, first.json.api_key);
    });

    await t.step("the root key's dryrun takes the header too, kept under the root scope", async () => {
      const dry = (key: string) =>
        h.request("POST", "/api/v1/organizations/dryrun", {
          root: true,
          body: body("idem_dry"),
          headers: { "Idempotency-Key": key },
        });
      assert.equal((await dry("dry-1")).status, 200);
      assert.equal((await dry("dry-1")).headers.get("Idempotent-Replayed"), "true");
      const [row] = await h.deps.warehouse.query<{ org_slug: string }>(
        "SELECT org_slug FROM organizations.org_idempotency_keys WHERE idempotency_key = 'dry-1'",
      );
      assert.equal(row?.org_slug, "_root");
    });
  } finally {
    await h.close();
  }
});

Deno.test("the OpenAPI document declares Idempotency-Key on exactly the operations that honour it", async () => {
  const doc = JSON.parse(await Deno.readTextFile(new URL("../../generated/openapi.json", import.meta.url))) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  };
  let declared = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const has = (op.parameters ?? []).some((p) => p.in === "header" && p.name === "Idempotency-Key");
      assert.equal(has, takesIdempotencyKey(method, path), `${method.toUpperCase()} ${path}`);
      if (has) declared++;
    }
  }
  assert.ok(declared >= 3, `onboard, dryrun and rotate at least (found ${declared})`);
});
