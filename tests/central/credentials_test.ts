/** The credentials store on DuckDB: one row per org and provider, replaced, re-validated and removed. */
import assert from "node:assert/strict";
import { openCentral } from "./_central.ts";
import type { CredentialRow } from "../../src/central/mod.ts";

function row(org: string, provider: string, encrypted: string): CredentialRow {
  const at = "2026-03-02T10:00:00.000Z";
  return {
    credential_id: crypto.randomUUID(),
    org_slug: org,
    provider,
    credential_name: null,
    encrypted_credential: encrypted,
    encryption_key_version: "local",
    credential_fingerprint: "…abcd",
    metadata: {},
    validation_status: "VALID",
    validation_error: null,
    is_active: true,
    configured_at: at,
    last_validated_at: at,
    created_at: at,
    updated_at: at,
  };
}

Deno.test("storing a credential again replaces the org's row of that provider, and remove deletes it", async () => {
  const c = await openCentral();
  try {
    const { credentials } = c.stores;
    await credentials.replace(row("acme", "OPENAI", "first"));
    await credentials.replace(row("acme", "OPENAI", "second"));
    await credentials.replace(row("acme", "ANTHROPIC", "other"));
    await credentials.replace(row("beta", "OPENAI", "beta's"));
    assert.equal((await credentials.active("acme", "OPENAI"))?.encrypted_credential, "second");
    const statuses = await credentials.statuses("acme");
    assert.deepEqual(statuses.map((s) => s.provider).sort(), ["ANTHROPIC", "OPENAI"]);
    assert.ok(statuses.every((s) => !("encrypted_credential" in s)), "a status never carries the credential");

    await credentials.recordValidation("acme", "OPENAI", {
      status: "INVALID",
      error: "OpenAI answered 401",
      now: "2026-03-03T10:00:00.000Z",
    });
    const openai = (await credentials.statuses("acme")).find((s) => s.provider === "OPENAI");
    assert.equal(openai?.validation_status, "INVALID");
    assert.equal(openai?.validation_error, "OpenAI answered 401");

    assert.equal(await credentials.remove("acme", "OPENAI"), 1);
    assert.equal(await credentials.remove("acme", "OPENAI"), 0, "nothing left to remove");
    assert.equal(await credentials.active("acme", "OPENAI"), undefined);
    assert.deepEqual((await credentials.statuses("acme")).map((s) => s.provider), ["ANTHROPIC"]);
    assert.equal(
      (await credentials.active("beta", "OPENAI"))?.encrypted_credential,
      "beta's",
      "other orgs keep theirs",
    );
  } finally {
    await c.close();
  }
});
