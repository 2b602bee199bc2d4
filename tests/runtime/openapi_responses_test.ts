/**
 * The OpenAPI document's responses are real: every JSON 2xx response schema has properties, and responses of the
 * running app (bootstrap, onboard, an integration against a stand-in, a run, runs, prices, plans, costs, quota,
 * the scheduler...) parse with the zod schema their route declares, the one the document was built from.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { API_ROUTES } from "../../runtime/routes/mod.ts";
import type { Route } from "../../runtime/route.ts";
import { startHarness } from "./_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";

const doc = JSON.parse(await Deno.readTextFile(new URL("../../generated/openapi.json", import.meta.url)));
type Json = Record<string, unknown>;

/** Whether a JSON schema describes an object with named properties (each branch of an anyOf/oneOf). */
function hasProperties(s: Json): boolean {
  const branches = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (branches) return branches.length > 0 && branches.every(hasProperties);
  return typeof s.properties === "object" && Object.keys(s.properties as Json).length > 0;
}

Deno.test("every JSON 2xx response in the document has a schema with properties", () => {
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, res] of Object.entries(op.responses as Record<string, Json>)) {
        if (!status.startsWith("2")) continue;
        const schema = ((res.content as Json)["application/json"] as Json | undefined)?.schema as Json | undefined;
        if (!schema) continue;
        assert.ok(hasProperties(schema), `${method.toUpperCase()} ${path} ${status}: ${JSON.stringify(schema)}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 40, `expected the whole API, checked ${checked}`);
});

Deno.test("the document lists ?wait=true's 200 beside the 202 and marks bodies required only when they are", () => {
  const op = doc.paths["/api/v1/pipelines/run/{org_slug}/openai/usage_cost"].post;
  assert.deepEqual(Object.keys(op.responses).filter((s) => s.startsWith("2")).sort(), ["200", "202"]);
  assert.equal(op.requestBody.required, false);
  assert.equal(doc.paths["/api/v1/organizations/onboard"].post.requestBody.required, true);
  const start = op.requestBody.content["application/json"].schema.properties.start_date;
  assert.equal(start.format, "date");
  assert.equal(start.default, undefined, "a date param carries no default word");
  assert.match(start.description, /Default: yesterday/);
});

function routeOf(method: string, path: string): Route {
  const r = API_ROUTES.find((r) =>
    r.method === method && new RegExp(`^${r.path.replace(/\{[a-z_]+\}/g, "[^/]+")}$`).test(path)
  );
  assert.ok(r, `no route for ${method} ${path}`);
  return r;
}

Deno.test("real responses of the app parse with their route's declared response schema", async (t) => {
  const openai = startOpenAIStandIn();
  const h = await startHarness({
    OPENAI_BASE_URL: openai.baseUrl,
    RATE_LIMIT_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
  });
  const seen = new Set<string>();
  const check = async (method: string, url: string, opts: Parameters<typeof h.request>[2] = {}, status?: number) => {
    const r = await h.request(method, url, opts);
    const path = url.split("?")[0]!;
    const route = routeOf(method, path);
    const def = route.responses[r.status];
    assert.ok(def, `${method} ${url} answered ${r.status}, undocumented: ${r.text.slice(0, 300)}`);
    if (status !== undefined) assert.equal(r.status, status, r.text.slice(0, 300));
    const parsed = def.schema.safeParse(r.json);
    assert.ok(parsed.success, `${method} ${url} ${r.status}: ${parsed.error && z.prettifyError(parsed.error)}`);
    // Objects drop undeclared keys when parsed: equal means every field the handler sent is declared.
    assert.deepEqual(parsed.data, r.json, `${method} ${url} ${r.status}: a field is not in the schema`);
    seen.add(`${route.method} ${route.path} ${r.status}`);
    return r;
  };
  try {
    await t.step("admin and onboarding", async () => {
      await check("GET", "/health", {}, 200);
      await check("POST", "/api/v1/admin/bootstrap", { root: true, body: {} }, 200);
      await check("POST", "/api/v1/organizations/dryrun", {
        root: true,
        body: { org_slug: "resp_org", company_name: "R", admin_email: "ops@resp.test", subscription_plan: "SCALE" },
      });
    });
    const onboard = await check("POST", "/api/v1/organizations/onboard", {
      root: true,
      body: { org_slug: "resp_org", company_name: "R", admin_email: "ops@resp.test", subscription_plan: "SCALE" },
    }, 201);
    let key: string = onboard.json.api_key;
    const org = "resp_org";
    await t.step("integrations", async () => {
      await check(
        "POST",
        `/api/v1/integrations/${org}/openai/setup`,
        { key, body: { credential: OPENAI_STANDIN_KEY } },
        200,
      );
      await check("POST", `/api/v1/integrations/${org}/openai/validate`, { key, body: {} }, 200);
      await check("GET", `/api/v1/integrations/${org}`, { key }, 200);
      await check("GET", `/api/v1/integrations/${org}/openai`, { key }, 200);
      await check("GET", `/api/v1/integrations/${org}/anthropic`, { key }, 200);
    });
    await t.step("runs", async () => {
      await check("POST", `/api/v1/pipelines/run/${org}/openai/usage_cost`, { key, body: {} }, 202);
      await h.deps.executor.drain();
      const done = await check("POST", `/api/v1/pipelines/run/${org}/openai/usage_cost?wait=true`, { key, body: {} });
      assert.equal(done.status, 200);
      const list = await check("GET", `/api/v1/pipelines/runs/${org}?limit=5`, { key }, 200);
      assert.ok(list.json.runs.length >= 1);
      await check("GET", `/api/v1/pipelines/runs/${org}/${list.json.runs[0].run_id}`, { key }, 200);
      await check("GET", "/api/v1/pipelines", { key }, 200);
    });
    await t.step("prices and plans", async () => {
      await check("GET", `/api/v1/integrations/${org}/openai/pricing`, { key }, 200);
      const body = { model_id: "resp-model", input_per_1m: "1.5", output_per_1m: 2, effective_from: "2024-01-01" };
      await check("POST", `/api/v1/integrations/${org}/openai/pricing`, { key, body }, 201);
      await check("PUT", `/api/v1/integrations/${org}/openai/pricing/resp-model`, { key, body: { notes: "n" } }, 200);
      await check("DELETE", `/api/v1/integrations/${org}/openai/pricing/resp-model`, { key }, 200);
      await check("POST", `/api/v1/integrations/${org}/openai/pricing/reset`, { key, body: {} }, 200);
      const unit = `/api/v1/integrations/${org}/openai/unit_pricing`;
      await check("POST", `${unit}/reset`, { key, body: {} }, 200);
      await check("GET", `${unit}?meter=image`, { key }, 200);
      const unitBody = { meter: "image", model_id: "resp-image", unit_price: "0.04", pricing_unit: "Images" };
      await check("POST", unit, { key, body: { ...unitBody, effective_from: "2024-01-01" } }, 201);
      await check("PUT", `${unit}/image?model_id=resp-image`, { key, body: { notes: "n" } }, 200);
      await check("DELETE", `${unit}/image?model_id=resp-image`, { key }, 200);
      await check("GET", `/api/v1/integrations/${org}/openai/subscriptions`, { key }, 200);
      const plan = { plan_name: "RESP_PLAN", quantity: 1, unit_price_usd: "20", effective_from: "2024-01-01" };
      await check("POST", `/api/v1/integrations/${org}/openai/subscriptions`, { key, body: plan }, 201);
      await check(
        "PUT",
        `/api/v1/integrations/${org}/openai/subscriptions/RESP_PLAN`,
        { key, body: { quantity: 2 } },
        200,
      );
      await check("DELETE", `/api/v1/integrations/${org}/openai/subscriptions/RESP_PLAN`, { key }, 200);
      await check("POST", `/api/v1/integrations/${org}/openai/subscriptions/reset`, { key, body: {} }, 200);
    });
    await t.step("costs, quota, scheduler, backfills, key rotation, removal", async () => {
      await check("GET", `/api/v1/costs/${org}`, { key }, 200);
      await check("GET", `/api/v1/costs/${org}?format=focus&limit=5`, { key }, 200);
      await check("GET", `/api/v1/costs/${org}/reconciliation`, { key }, 200);
      await check("GET", `/api/v1/organizations/${org}/quota`, { key }, 200);
      await check("POST", "/api/v1/scheduler/trigger", { root: true, body: {} }, 200);
      await check("GET", "/api/v1/scheduler/status", { root: true }, 200);
      const today = new Date().toISOString().slice(0, 10);
      await check("POST", `/api/v1/pipelines/backfill/${org}`, {
        key,
        body: { pipeline: "openai/usage_cost", start_date: today, end_date: today },
      }, 202);
      await check("GET", `/api/v1/pipelines/backfill/${org}`, { key }, 200);
      const rotated = await check("POST", `/api/v1/organizations/${org}/api-key/rotate`, { key, body: {} }, 200);
      key = rotated.json.api_key;
      await check("DELETE", `/api/v1/integrations/${org}/openai`, { key }, 200);
      const served = await check("GET", "/api/v1/openapi.json", {}, 200);
      assert.deepEqual(served.json, doc, "the app serves generated/openapi.json's document");
    });
    assert.ok(seen.size >= 30, `checked ${seen.size} route responses`);
  } finally {
    h.deps.scheduler.stop();
    await h.deps.executor.drain().catch(() => {});
    await h.close();
    await openai.close();
  }
});
