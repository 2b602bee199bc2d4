/** Integration setup/validate/status/delete against local stand-ins of each provider, and what is (not) stored. */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";

const EXPORT_ROW = JSON.stringify({
  billing_account_id: "0123AB-CDEF45-678901",
  service: { id: "6F81-5844-456A", description: "Compute Engine" },
  sku: { id: "2E27-4F75-95CD", description: "N1 Predefined Instance Core" },
  usage_start_time: "2025-11-01T00:00:00Z",
  usage_end_time: "2025-11-01T01:00:00Z",
  project: { id: "acme-prod", name: "Acme Prod", labels: [] },
  labels: [],
  location: { region: "us-central1" },
  cost: 1.25,
  currency: "USD",
  usage: { amount: 3600, unit: "seconds" },
  credits: [{ name: "Sustained use", amount: -0.25, type: "SUSTAINED_USAGE_DISCOUNT" }],
  invoice: { month: "202511" },
  cost_type: "regular",
});

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await files(p));
    else out.push(p);
  }
  return out;
}

/** True when `needle` occurs anywhere under `dir` (any file, as raw bytes). */
async function foundUnder(dir: string, needle: string): Promise<string | undefined> {
  const n = new TextEncoder().encode(needle);
  for (const f of await files(dir)) {
    const bytes = await Deno.readFile(f);
    outer: for (let i = 0; i + n.length <= bytes.length; i++) {
      for (let j = 0; j < n.length; j++) if (bytes[i + j] !== n[j]) continue outer;
      return f;
    }
  }
  return undefined;
}

Deno.test("integrations: setup, validate, status and delete for all four providers, stored only encrypted", async (t) => {
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const deepseek = startDeepSeekStandIn();
  const sa = await generateTestServiceAccount();
  const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });
  let h: Harness | undefined;
  try {
    h = await startHarness({
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_BASE_URL: anthropic.url,
      DEEPSEEK_BASE_URL: deepseek.url,
      GCP_TOKEN_URI: oauth.tokenUri,
      RATE_LIMIT_ENABLED: "false",
    });
    const hh = h;
    await hh.bootstrap();
    const keyA = await hh.onboard("integ_alpha");
    const keyB = await hh.onboard("integ_beta");
    await Deno.mkdir(`${hh.dataDir}/imports/integ_alpha`, { recursive: true });
    await Deno.writeTextFile(`${hh.dataDir}/imports/integ_alpha/billing.jsonl`, EXPORT_ROW + "\n");
    const bodies: Record<string, Record<string, unknown>> = {
      openai: { credential: OPENAI_STANDIN_KEY, credential_name: "Prod admin key" },
      anthropic: { credential: ANTHROPIC_STANDIN_KEY },
      deepseek: { credential: DEEPSEEK_STANDIN_KEY },
      gcp: { credential: sa.json, billing_export_table: "billing.jsonl" },
    };
    await t.step("valid credentials are validated with the provider and stored", async () => {
      for (const [provider, body] of Object.entries(bodies)) {
        const r = await hh.request("POST", `/api/v1/integrations/integ_alpha/${provider}/setup`, { key: keyA, body });
        assert.equal(r.status, 200, `${provider}: ${r.text}`);
        assert.equal(r.json.success, true);
        assert.equal(r.json.validation_status, "VALID");
        assert.equal(r.json.provider, provider);
      }
      const all = await hh.request("GET", "/api/v1/integrations/integ_alpha", { key: keyA });
      for (const k of ["OPENAI", "ANTHROPIC", "DEEPSEEK", "GCP_SA"]) {
        assert.equal(all.json.integrations[k].status, "VALID", k);
        assert.ok(all.json.integrations[k].configured_at);
        assert.ok(all.json.integrations[k].last_validated_at);
      }
      assert.equal(all.json.integrations.GCP_SA.metadata.billing_export_table, "billing.jsonl");
      assert.ok(
        openai.requests.some((q) => q.path === "/v1/organization/usage/completions"),
        "OpenAI validated on the usage endpoint",
      );
      assert.equal(oauth.issued.length, 1, "a token was minted with the JWT grant");
    });
    await t.step("OpenAI setup seeds prices and plans from configs", async () => {
      const [row] = await hh.deps.warehouse.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM organizations.org_model_pricing WHERE org_slug = @o AND provider = 'openai'",
        { o: "integ_alpha" },
      );
      assert.ok(row!.n > 5);
    });
    await t.step("no plaintext credential anywhere under DATA_DIR, in responses or logs", async () => {
      const secrets = [
        OPENAI_STANDIN_KEY,
        ANTHROPIC_STANDIN_KEY,
        DEEPSEEK_STANDIN_KEY,
        JSON.parse(sa.json).private_key.split("\n")[1],
      ];
      await hh.deps.warehouse.close(); // flush the DuckDB file and WAL
      for (const s of secrets) {
        assert.equal(await foundUnder(hh.dataDir, s), undefined, `plaintext of a credential found on disk`);
        for (const line of hh.logs) assert.ok(!line.includes(s), `a log line leaks a credential: ${line}`);
      }
    });
    // Reopen the warehouse on the same files: the rest of the test runs against what is on disk.
    h = await startHarness({
      DATA_DIR: hh.dataDir,
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_BASE_URL: anthropic.url,
      DEEPSEEK_BASE_URL: deepseek.url,
      GCP_TOKEN_URI: oauth.tokenUri,
      RATE_LIMIT_ENABLED: "false",
    });
    const h2 = h;
    await t.step("stored credentials re-validate after a restart (decrypted with the same KEK)", async () => {
      for (const provider of Object.keys(bodies)) {
        const r = await h2.request("POST", `/api/v1/integrations/integ_alpha/${provider}/validate`, { key: keyA });
        assert.equal(r.status, 200, `${provider}: ${r.text}`);
        assert.equal(r.json.validation_status, "VALID");
      }
    });
    await t.step("an invalid key is 400 INVALID with the reason, and stores nothing new", async () => {
      const r = await h2.request("POST", "/api/v1/integrations/integ_beta/openai/setup", {
        key: keyB,
        body: { credential: "sk-wrong-1234567890" },
      });
      assert.equal(r.status, 400);
      assert.equal(r.json.validation_status, "INVALID");
      assert.match(r.json.message, /401/);
      assert.ok(!r.text.includes("sk-wrong-1234567890"));
      const st = await h2.request("GET", "/api/v1/integrations/integ_beta/openai", { key: keyB });
      assert.equal(st.json.status, "NOT_CONFIGURED");
      const bad = await h2.request("POST", "/api/v1/integrations/integ_beta/gcp/setup", {
        key: keyB,
        body: { credential: '{"type":"user"}', billing_export_table: "billing.jsonl" },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.validation_status, "INVALID");
    });
    await t.step("a billing export path outside DATA_DIR/imports is refused with 400", async () => {
      await Deno.mkdir(`${h2.dataDir}/imports/integ_beta`, { recursive: true });
      await Deno.symlink(`${h2.dataDir}/kek.key`, `${h2.dataDir}/imports/integ_beta/link.jsonl`);
      // org A's export exists, but B cannot name it: each org reads only its own folder.
      for (
        const table of [
          "../kek.key",
          "/etc/passwd.csv",
          "imports/../../x.jsonl",
          "link.jsonl",
          "../integ_alpha/billing.jsonl",
          "billing.jsonl",
        ]
      ) {
        const r = await h2.request("POST", "/api/v1/integrations/integ_beta/gcp/setup", {
          key: keyB,
          body: { credential: sa.json, billing_export_table: table },
        });
        assert.equal(r.status, 400, `${table}: ${r.text}`);
      }
    });
    await t.step("a provider that is down is a clear 502 after retries; nothing stored, status unchanged", async () => {
      openai.faults.fail5xx = 20;
      const r = await h2.request("POST", "/api/v1/integrations/integ_beta/openai/setup", {
        key: keyB,
        body: { credential: OPENAI_STANDIN_KEY },
      });
      openai.faults.fail5xx = 0;
      assert.equal(r.status, 502, r.text);
      assert.match(r.json.error.message, /OpenAI GET \/organization\/usage\/completions/);
      assert.equal(
        (await h2.request("GET", "/api/v1/integrations/integ_beta/openai", { key: keyB })).json.status,
        "NOT_CONFIGURED",
      );
    });
    await t.step("malformed provider JSON is a clear 502", async () => {
      deepseek.faults.malformed = true;
      const r = await h2.request("POST", "/api/v1/integrations/integ_beta/deepseek/setup", {
        key: keyB,
        body: { credential: DEEPSEEK_STANDIN_KEY },
      });
      deepseek.faults.malformed = false;
      assert.equal(r.status, 502, r.text);
      assert.match(r.json.error.message, /DeepSeek/);
    });
    await t.step("re-validation of a credential the provider now refuses marks it INVALID", async () => {
      anthropic.faults.fail5xx = 0;
      const setup = await h2.request("POST", "/api/v1/integrations/integ_beta/anthropic/setup", {
        key: keyB,
        body: { credential: ANTHROPIC_STANDIN_KEY },
      });
      assert.equal(setup.status, 200);
      // The stand-in forgets the key: the provider now answers 401.
      const stopped = startAnthropicStandIn({ keys: {} });
      await h2.deps.warehouse.close();
      const h3 = await startHarness({
        DATA_DIR: h2.dataDir,
        ANTHROPIC_BASE_URL: stopped.url,
        RATE_LIMIT_ENABLED: "false",
      });
      h = h3;
      try {
        const r = await h3.request("POST", "/api/v1/integrations/integ_beta/anthropic/validate", { key: keyB });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.validation_status, "INVALID");
        const st = await h3.request("GET", "/api/v1/integrations/integ_beta/anthropic", { key: keyB });
        assert.equal(st.json.status, "INVALID");
        assert.match(st.json.validation_error, /401/);
      } finally {
        await stopped.close();
      }
    });
    const h4 = h!;
    await t.step("cross-tenant: org B cannot read, validate, delete or price org A's integrations", async () => {
      for (
        const [m, p] of [
          ["GET", "/api/v1/integrations/integ_alpha"],
          ["GET", "/api/v1/integrations/integ_alpha/openai"],
          ["POST", "/api/v1/integrations/integ_alpha/openai/validate"],
          ["POST", "/api/v1/integrations/integ_alpha/openai/setup"],
          ["DELETE", "/api/v1/integrations/integ_alpha/openai"],
          ["GET", "/api/v1/integrations/integ_alpha/openai/pricing"],
        ] as const
      ) {
        const r = await h4.request(m, p, { key: keyB, body: { credential: "sk-x" } });
        assert.equal(r.status, 403, `${m} ${p}: ${r.status}`);
      }
      const st = await h4.request("GET", "/api/v1/integrations/integ_alpha/openai", { key: keyA });
      assert.equal(st.json.status, "VALID", "org A's integration is untouched");
    });
    await t.step("a credential row copied into org B's rows fails to decrypt", async () => {
      const [row] = await h4.deps.warehouse.query<Record<string, unknown>>(
        "SELECT * FROM organizations.org_integration_credentials WHERE org_slug = @o AND provider = 'OPENAI'",
        { o: "integ_alpha" },
      );
      await h4.deps.warehouse.execute(
        "DELETE FROM organizations.org_integration_credentials WHERE org_slug = @o AND provider = 'OPENAI'",
        { o: "integ_beta" },
      );
      const { pipelines } = await import("../../generated/manifest.ts");
      await h4.deps.warehouse.insertRows(
        "organizations",
        pipelines["setup/bootstrap"].tables.org_integration_credentials,
        [
          { ...row, credential_id: crypto.randomUUID(), org_slug: "integ_beta" },
        ],
      );
      const r = await h4.request("POST", "/api/v1/integrations/integ_beta/openai/validate", { key: keyB });
      assert.ok(r.status >= 400, `a copied ciphertext must not decrypt: ${r.status} ${r.text}`);
      assert.ok(!r.text.includes(String(row!.encrypted_credential)));
    });
    await t.step("delete removes the integration; a second delete is 404", async () => {
      const r = await h4.request("DELETE", "/api/v1/integrations/integ_alpha/deepseek", { key: keyA });
      assert.equal(r.status, 200);
      assert.equal(
        (await h4.request("GET", "/api/v1/integrations/integ_alpha/deepseek", { key: keyA })).json.status,
        "NOT_CONFIGURED",
      );
      assert.equal(
        (await h4.request("DELETE", "/api/v1/integrations/integ_alpha/deepseek", { key: keyA })).status,
        404,
      );
      assert.equal((await h4.request("GET", "/api/v1/integrations/integ_alpha/azure", { key: keyA })).status, 404);
    });
  } finally {
    await h?.close().catch(() => {});
    await Promise.all([openai.close(), anthropic.close(), deepseek.close(), oauth.close()]);
  }
});
