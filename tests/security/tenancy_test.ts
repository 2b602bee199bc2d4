/**
 * Tenant isolation (OWASP API1 broken object level authorization, API5 function level authorization): for every
 * route with {org_slug} that the app mounts (manifest + runtime/routes/), every method, org A's key on org
 * B's path is 403 and leaves every row of B (central tables and B's dataset) exactly as it was; and B's objects
 * (runs, model prices, plans, integrations, queue items) addressed through A's own path are 404 or A's own data.
 */
import assert from "node:assert/strict";
import { OPENAI_STANDIN_KEY } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY } from "../standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY } from "../standins/deepseek.ts";
import { PRICED_SLUGS } from "../../src/providers/catalogue.ts";
import {
  errorShapeProblems,
  honoPath,
  mountedRoutes,
  ORG_A,
  ORG_B,
  type SecurityHarness,
  snapshotOrg,
  startSecurityHarness,
} from "./_kit.ts";

const B_MODEL = "b-private-model";
const B_PLAN = "B_PRIVATE_PLAN";
const B_RUN = `${ORG_B}-openai-usage-cost-20250101-private`;
const EXPORT_ROW = JSON.stringify({
  billing_account_id: "0123AB-CDEF45-678901",
  service: { id: "6F81-5844-456A", description: "Compute Engine" },
  sku: { id: "2E27-4F75-95CD", description: "N1 Predefined Instance Core" },
  usage_start_time: "2025-11-01T00:00:00Z",
  usage_end_time: "2025-11-01T01:00:00Z",
  project: { id: "beta-prod", name: "Beta Prod", labels: [] },
  labels: [],
  location: { region: "us-central1" },
  cost: 1.25,
  currency: "USD",
  usage: { amount: 3600, unit: "seconds" },
  credits: [],
  invoice: { month: "202511" },
  cost_type: "regular",
});

/** A body that would change something if the request were let through. */
function bodyFor(method: string, path: string, h: SecurityHarness): Record<string, unknown> {
  if (method === "GET" || method === "DELETE") return {};
  if (path.endsWith("/openai/setup")) return { credential: OPENAI_STANDIN_KEY, credential_name: "hijack" };
  if (path.endsWith("/anthropic/setup")) return { credential: ANTHROPIC_STANDIN_KEY };
  if (path.endsWith("/deepseek/setup")) return { credential: DEEPSEEK_STANDIN_KEY };
  if (path.endsWith("/gcp/setup")) return { credential: h.serviceAccount, billing_export_table: "billing.jsonl" };
  if (path.endsWith("/pricing")) return { model_id: "hijack-model", input_per_1m: "1", output_per_1m: "2" };
  if (path.endsWith("/pricing/{model_id}")) return { input_per_1m: "999" };
  if (path.endsWith("/subscriptions")) return { plan_name: "HIJACK", quantity: 1, unit_price_usd: "1" };
  if (path.endsWith("/subscriptions/{plan_name}")) return { quantity: 99 };
  if (path.includes("/backfill/")) {
    return { pipeline: "openai/usage_cost", start_date: "2025-01-01", end_date: "2025-01-03" };
  }
  if (path.includes("/pipelines/run/")) return { start_date: "2025-01-01" };
  return {};
}

function fill(path: string, org: string, provider: string): string {
  return path.replace("{org_slug}", org).replace("{provider}", provider).replace("{model_id}", B_MODEL)
    .replace("{plan_name}", B_PLAN).replace("{run_id}", B_RUN);
}

async function seedOrgB(h: SecurityHarness): Promise<void> {
  const key = h.keys[ORG_B]!;
  await Deno.mkdir(`${h.dataDir}/imports/${ORG_B}`, { recursive: true });
  await Deno.writeTextFile(`${h.dataDir}/imports/${ORG_B}/billing.jsonl`, EXPORT_ROW + "\n");
  const setups: [string, Record<string, unknown>][] = [
    ["openai", { credential: OPENAI_STANDIN_KEY }],
    ["anthropic", { credential: ANTHROPIC_STANDIN_KEY }],
    ["deepseek", { credential: DEEPSEEK_STANDIN_KEY }],
    ["gcp", { credential: h.serviceAccount, billing_export_table: "billing.jsonl" }],
  ];
  for (const [provider, body] of setups) {
    const r = await h.request("POST", `/api/v1/integrations/${ORG_B}/${provider}/setup`, { key, body });
    assert.equal(r.status, 200, `B's ${provider} setup: ${r.text}`);
  }
  for (const provider of PRICED_SLUGS) {
    const r = await h.request("POST", `/api/v1/integrations/${ORG_B}/${provider}/pricing`, {
      key,
      body: { model_id: B_MODEL, input_per_1m: "1.5", output_per_1m: "3", notes: "B's negotiated price" },
    });
    assert.equal(r.status, 201, `B's ${provider} price: ${r.text}`);
  }
  const plan = await h.request("POST", `/api/v1/integrations/${ORG_B}/openai/subscriptions`, {
    key,
    body: { plan_name: B_PLAN, quantity: 3, unit_price_usd: "20" },
  });
  assert.equal(plan.status, 201, plan.text);
  // A run row of B (no pipeline has to run for it).
  await h.deps.executor.runs.insertPending({
    run_id: B_RUN,
    org_slug: ORG_B,
    pipeline_id: "openai-usage-cost",
    pipeline_path: "openai/usage_cost",
    trigger: "api",
    params: { start_date: "2025-01-01", end_date: "2025-01-01" },
    logical_date: "2025-01-01",
    steps_total: 2,
    requested_by: "api_key",
    request_id: null,
    worker_id: "tenancy-test",
    now: new Date().toISOString(),
  });
  await h.deps.executor.runs.finish(B_RUN, {
    status: "FAILED",
    now: new Date().toISOString(),
    durationMs: 5,
    stepsCompleted: 0,
    rows: 0,
    error: { message: "B's private failure detail", code: "TEST" },
  });
  // A queue item of B, written directly (a backfill would start B's pipelines in the background).
  await h.deps.scheduler.queue.enqueue(
    [{
      org_slug: ORG_B,
      pipeline_path: "openai/usage_cost",
      pipeline_id: "openai-usage-cost",
      schedule: "daily",
      logical_date: "2025-01-02",
      params: { start_date: "2025-01-02" },
    }],
    "backfill",
    1,
    new Date(Date.now() + 86_400_000),
  );
  // A table in B's dataset with a row, so the snapshot covers tenant data too.
  await h.deps.warehouse.execute(`CREATE TABLE ${ORG_B}_local.private_notes (note VARCHAR)`);
  await h.deps.warehouse.execute(`INSERT INTO ${ORG_B}_local.private_notes VALUES ('B only')`);
}

Deno.test({
  name: "tenancy: another org's key is refused on every org route and method, with no side effect",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
    try {
      await seedOrgB(h);
      const keyA = h.keys[ORG_A]!;
      const all = mountedRoutes(h).filter((r) => r.path.includes("{org_slug}"));
      assert.ok(all.length >= 25, `expected every org route, got ${all.length}`);
      for (const r of all) {
        assert.ok(h.mounted.has(`${r.method} ${honoPath(r.path)}`), `not mounted: ${r.method} ${r.path}`);
      }
      const before = await snapshotOrg(h.deps.warehouse, ORG_B);
      const providerCalls = () =>
        h.openai.requests.length + h.anthropic.requests.length + h.deepseek.requests.length + h.oauth.requests.length;
      const callsBefore = providerCalls();
      assert.ok(
        before.includes(B_MODEL) && before.includes(B_PLAN) && before.includes(B_RUN) && before.includes("B only"),
      );
      let cases = 0;

      await t.step(
        `org A's key on org B's path: 403 for each of ${all.length} mounted routes, nothing of B changes`,
        async () => {
          for (const r of all) {
            const providers = r.path.includes("{provider}")
              ? (r.path.includes("/pricing")
                ? ["openai", "anthropic", "deepseek"]
                : ["openai", "anthropic", "deepseek", "gcp"])
              : ["openai"];
            for (const provider of providers) {
              for (const query of r.path.includes("/pipelines/run/") ? ["", "?wait=true"] : [""]) {
                const path = fill(r.path, ORG_B, provider) + query;
                const res = await h.request(r.method, path, { key: keyA, body: bodyFor(r.method, r.path, h) });
                cases++;
                assert.equal(res.status, 403, `${r.method} ${path}: ${res.status} ${res.text}`);
                assert.equal(res.json.error.code, "FORBIDDEN");
                assert.deepEqual(errorShapeProblems(res.status, res.headers, res.json), []);
                for (const secret of [B_MODEL, B_PLAN, "B's private", OPENAI_STANDIN_KEY, h.keys[ORG_B]!]) {
                  assert.ok(!res.text.includes(secret), `${r.method} ${path} reveals ${secret}`);
                }
              }
            }
            assert.equal(await snapshotOrg(h.deps.warehouse, ORG_B), before, `${r.method} ${r.path} changed B's rows`);
          }
          assert.equal(providerCalls(), callsBefore, "a refused request reached a provider");
        },
      );

      await t.step("methods a route does not support: 403/404/405, never a side effect", async () => {
        const paths = [...new Set(all.map((r) => r.path))];
        for (const p of paths) {
          const supported = new Set(all.filter((r) => r.path === p).map((r) => r.method));
          for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"].filter((m) => !supported.has(m))) {
            const path = fill(p, ORG_B, "openai");
            const res = await h.request(method, path, { key: keyA, body: { quantity: 1, input_per_1m: "9" } });
            cases++;
            assert.ok([403, 404, 405].includes(res.status), `${method} ${path}: ${res.status} ${res.text}`);
            assert.deepEqual(errorShapeProblems(res.status, res.headers, res.json), []);
          }
        }
        assert.equal(await snapshotOrg(h.deps.warehouse, ORG_B), before);
      });

      await t.step("a key whose org prefix is rewritten to B's is not B's key (401)", async () => {
        const forged = keyA.replace(`${ORG_A}_api_`, `${ORG_B}_api_`);
        for (const p of [`/api/v1/integrations/${ORG_B}`, `/api/v1/integrations/${ORG_A}`]) {
          const res = await h.request("GET", p, { key: forged });
          cases++;
          assert.equal(res.status, 401, `${p}: ${res.text}`);
        }
      });

      await t.step("B's run id under A's path is 404, and A's run list never shows it", async () => {
        const one = await h.request("GET", `/api/v1/pipelines/runs/${ORG_A}/${B_RUN}`, { key: keyA });
        assert.equal(one.status, 404, one.text);
        assert.ok(!one.text.includes("B's private"));
        for (const q of ["", "?pipeline=openai/usage_cost", "?status=FAILED", "?limit=500"]) {
          const list = await h.request("GET", `/api/v1/pipelines/runs/${ORG_A}${q}`, { key: keyA });
          assert.equal(list.status, 200, list.text);
          assert.ok(!list.text.includes(B_RUN), `A's run list ${q} shows B's run`);
          assert.ok(list.json.runs.every((run: { org_slug: string }) => run.org_slug === ORG_A));
        }
        cases += 5;
        const own = await h.request("GET", `/api/v1/pipelines/runs/${ORG_B}/${B_RUN}`, { key: h.keys[ORG_B]! });
        assert.equal(own.status, 200, "B still sees its own run");
      });

      await t.step("B's model prices and plans under A's path: 404 or A's own rows, never B's", async () => {
        for (const provider of PRICED_SLUGS) {
          const base = `/api/v1/integrations/${ORG_A}/${provider}/pricing`;
          const list = await h.request("GET", `${base}?model_id=${B_MODEL}`, { key: keyA });
          assert.equal(list.status, 200, list.text);
          assert.equal(list.json.count, 0, `A sees B's ${provider} price`);
          const all = await h.request("GET", base, { key: keyA });
          assert.ok(!all.text.includes(B_MODEL) && !all.text.includes("negotiated"));
          const put = await h.request("PUT", `${base}/${B_MODEL}`, { key: keyA, body: { input_per_1m: "999" } });
          assert.equal(put.status, 404, `PUT ${provider}: ${put.text}`);
          const del = await h.request("DELETE", `${base}/${B_MODEL}`, { key: keyA });
          assert.equal(del.status, 404, `DELETE ${provider}: ${del.text}`);
          const reset = await h.request("POST", `${base}/reset`, { key: keyA, body: {} });
          assert.equal(reset.status, 200, reset.text);
          cases += 5;
        }
        const subs = `/api/v1/integrations/${ORG_A}/openai/subscriptions`;
        const list = await h.request("GET", `${subs}?plan_name=${B_PLAN}`, { key: keyA });
        assert.equal(list.json.count, 0, "A sees B's plan");
        assert.equal((await h.request("PUT", `${subs}/${B_PLAN}`, { key: keyA, body: { quantity: 99 } })).status, 404);
        assert.equal((await h.request("DELETE", `${subs}/${B_PLAN}`, { key: keyA })).status, 404);
        assert.equal((await h.request("POST", `${subs}/reset`, { key: keyA, body: {} })).status, 200);
        cases += 4;
        assert.equal(await snapshotOrg(h.deps.warehouse, ORG_B), before, "A's writes on its own path touched B's rows");
      });

      await t.step("B's integrations are invisible and untouchable through A's path", async () => {
        const all = await h.request("GET", `/api/v1/integrations/${ORG_A}`, { key: keyA });
        for (const k of ["OPENAI", "ANTHROPIC", "DEEPSEEK", "GCP_SA"]) {
          assert.equal(all.json.integrations[k].status, "NOT_CONFIGURED", `A sees ${k} of B`);
        }
        for (const provider of ["openai", "anthropic", "deepseek", "gcp"]) {
          const v = await h.request("POST", `/api/v1/integrations/${ORG_A}/${provider}/validate`, { key: keyA });
          assert.equal(v.status, 404, `validate ${provider} through A: ${v.text}`);
          const d = await h.request("DELETE", `/api/v1/integrations/${ORG_A}/${provider}`, { key: keyA });
          assert.equal(d.status, 404, `delete ${provider} through A: ${d.text}`);
          cases += 2;
        }
        const run = await h.request("POST", `/api/v1/pipelines/run/${ORG_A}/openai/usage_cost`, {
          key: keyA,
          body: { start_date: "2025-01-01" },
        });
        assert.equal(run.status, 422, `A cannot run on B's credential: ${run.text}`);
        const queue = await h.request("GET", `/api/v1/pipelines/backfill/${ORG_A}`, { key: keyA });
        assert.equal(queue.status, 200, queue.text);
        assert.deepEqual(queue.json.queue, {}, `A sees B's queue: ${queue.text}`);
        cases += 2;
        assert.equal(await snapshotOrg(h.deps.warehouse, ORG_B), before);
      });

      await t.step("rotating A's key leaves B's key working and B's rows as they were", async () => {
        const r = await h.request("POST", `/api/v1/organizations/${ORG_A}/api-key/rotate`, { key: keyA, body: {} });
        assert.equal(r.status, 200, r.text);
        assert.equal((await h.request("GET", `/api/v1/integrations/${ORG_A}`, { key: keyA })).status, 401);
        assert.equal((await h.request("GET", `/api/v1/integrations/${ORG_B}`, { key: h.keys[ORG_B]! })).status, 200);
        assert.equal(await snapshotOrg(h.deps.warehouse, ORG_B), before);
        cases += 3;
      });

      await t.step("no log line carries B's key or credential", () => {
        for (const line of h.logs) {
          assert.ok(
            !line.includes(OPENAI_STANDIN_KEY) && !line.includes(h.keys[ORG_B]!),
            `log leaks a secret: ${line}`,
          );
        }
      });
      console.log(
        `tenancy: ${all.length} org routes, ${cases} cross-tenant requests, B's snapshot ${before.length} chars`,
      );
    } finally {
      await h.shutdown();
    }
  },
});

Deno.test({
  // Each org reads billing exports only from its own DATA_DIR/imports/{org_slug}/ folder.
  name: "tenancy: org B cannot name the billing export file placed for org A",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
    try {
      await Deno.mkdir(`${h.dataDir}/imports/${ORG_A}`, { recursive: true });
      await Deno.writeTextFile(`${h.dataDir}/imports/${ORG_A}/alpha_billing.jsonl`, EXPORT_ROW + "\n");
      const a = await h.request("POST", `/api/v1/integrations/${ORG_A}/gcp/setup`, {
        key: h.keys[ORG_A],
        body: { credential: h.serviceAccount, billing_export_table: "alpha_billing.jsonl" },
      });
      assert.equal(a.status, 200, a.text);
      const b = await h.request("POST", `/api/v1/integrations/${ORG_B}/gcp/setup`, {
        key: h.keys[ORG_B],
        body: { credential: h.serviceAccount, billing_export_table: "alpha_billing.jsonl" },
      });
      assert.equal(b.status, 400, `B may read A's export: ${b.text}`);
      const byPath = await h.request("POST", `/api/v1/integrations/${ORG_B}/gcp/setup`, {
        key: h.keys[ORG_B],
        body: { credential: h.serviceAccount, billing_export_table: `../${ORG_A}/alpha_billing.jsonl` },
      });
      assert.equal(byPath.status, 400, `B may read A's export by path: ${byPath.text}`);
    } finally {
      await h.shutdown();
    }
  },
});
