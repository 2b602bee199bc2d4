/**
 * Issue 13, point 1: every day the API, the scheduler and backfills accept is checked once (src/time/day.ts), and
 * a bad one is a 400 VALIDATION_ERROR naming the field before any run row exists. The reproductions: a run for
 * 9999-12-31 (once 202 and a process spinning forever), days in 0000-0099 (once 500), 1969-12-31 and tomorrow
 * (once accepted), a backfill from 1487 (once 202 with days queued).
 */
import assert from "node:assert/strict";
import { type Harness, ROOT, startHarness } from "./_harness.ts";
import { spawnServer, taskRunCommand } from "../security/_server.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { addDays, dayOf, isoDay } from "../../src/time/day.ts";

const ORG = "dates_org";
const today = () => dayOf(new Date());
const tomorrow = () => isoDay(addDays(today(), 1));
const yesterday = () => isoDay(addDays(today(), -1));

async function runRows(h: Harness): Promise<number> {
  const [row] = await h.deps.warehouse.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM organizations.org_meta_pipeline_runs WHERE org_slug = @org`,
    { org: ORG },
  );
  return Number(row?.n ?? 0);
}

Deno.test({
  name: "a run for 9999-12-31 answers 400 within a second and /health stays fast, on a real server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const standIn = startOpenAIStandIn();
    const dataDir = await Deno.makeTempDir({ prefix: "conv-dates-" });
    const { flags } = await taskRunCommand("start");
    const server = await spawnServer({
      flags,
      env: {
        DATA_DIR: dataDir,
        CA_ROOT_API_KEY: ROOT,
        PORT: "0",
        SCHEDULER_ENABLED: "false",
        RATE_LIMIT_ENABLED: "false",
        OPENAI_BASE_URL: standIn.baseUrl,
      },
    });
    const call = async (method: string, path: string, opts: { key?: string; root?: boolean; body?: unknown } = {}) => {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (opts.key) headers["X-API-Key"] = opts.key;
      if (opts.root) headers["X-CA-Root-Key"] = ROOT;
      const t0 = performance.now();
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        // A server spinning on a day loop never answers: fail the test instead of hanging it.
        signal: AbortSignal.timeout(5_000),
      });
      const json = await res.json();
      return { status: res.status, json, ms: performance.now() - t0 };
    };
    try {
      assert.ok(server.url, server.output());
      assert.equal((await call("POST", "/api/v1/admin/bootstrap", { root: true, body: {} })).status, 200);
      const onboard = await call("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: ORG, company_name: "Dates Inc", admin_email: "ops@dates.test", subscription_plan: "SCALE" },
      });
      assert.equal(onboard.status, 201, JSON.stringify(onboard.json));
      const key = onboard.json.api_key as string;
      const setup = await call("POST", `/api/v1/integrations/${ORG}/openai/setup`, {
        key,
        body: { credential: OPENAI_STANDIN_KEY },
      });
      assert.equal(setup.status, 200, JSON.stringify(setup.json));

      for (const pipeline of ["openai/usage_cost", "gcp/billing"]) {
        const r = await call("POST", `/api/v1/pipelines/run/${ORG}/${pipeline}`, {
          key,
          body: { start_date: "9999-12-31", end_date: "9999-12-31" },
        });
        assert.equal(r.status, 400, `${pipeline}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error.code, "VALIDATION_ERROR");
        assert.match(r.json.error.message, /^Field "start_date": 9999-12-31 is after today/);
        assert.ok(r.ms < 1_000, `${pipeline} answered in ${Math.round(r.ms)} ms`);
      }
      for (let i = 0; i < 5; i++) {
        const health = await call("GET", "/health");
        assert.equal(health.status, 200);
        assert.ok(health.ms < 1_000, `/health took ${Math.round(health.ms)} ms`);
      }
      const runs = await call("GET", `/api/v1/pipelines/runs/${ORG}`, { key });
      assert.equal(runs.json.count, 0, "no run row was written");
    } finally {
      await server.stop();
      await standIn.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("every day the API, the scheduler and backfills accept is checked once, with a 400 naming the field", async (t) => {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false", SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    const run = (pipeline: string, body: unknown) =>
      h.request("POST", `/api/v1/pipelines/run/${ORG}/${pipeline}`, { key, body });
    const refused = (r: Awaited<ReturnType<typeof run>>, message: RegExp) => {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, "VALIDATION_ERROR", r.text);
      assert.match(r.json.error.message, message);
    };

    await t.step("a day in years 0000-0099 is a 400, not a 500, on a run and on the scheduler trigger", async () => {
      for (const date of ["0000-01-01", "0099-12-31", "0001-01-01"]) {
        refused(await run("openai/usage_cost", { start_date: date, end_date: date }), /^Field "start_date"/);
        refused(await run("deepseek/usage_cost", { date }), /^Field "date"/);
        const trigger = await h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date } });
        refused(trigger, /^Field "date"/);
      }
    });

    await t.step("1969-12-31 and tomorrow are refused on every daily pipeline and on the trigger", async () => {
      for (const pipeline of ["openai/usage_cost", "anthropic/usage_cost", "gcp/billing"]) {
        refused(
          await run(pipeline, { start_date: "1969-12-31" }),
          /^Field "start_date": 1969-12-31 is before 2015-01-01/,
        );
        refused(
          await run(pipeline, { start_date: yesterday(), end_date: tomorrow() }),
          /^Field "end_date".*after today/,
        );
        refused(await run(pipeline, { date: tomorrow() }), /^Field "date".*after today/);
      }
      refused(await run("deepseek/usage_cost", { date: "1969-12-31" }), /^Field "date".*before 2015-01-01/);
      const trigger = await h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: tomorrow() } });
      refused(trigger, /^Field "date".*after today/);
    });

    await t.step("a range ending before it starts or longer than 366 days is refused naming end_date", async () => {
      refused(
        await run("gcp/billing", { start_date: "2025-03-02", end_date: "2025-03-01" }),
        /^Field "end_date".*before/,
      );
      refused(await run("gcp/billing", { start_date: "2024-01-01", end_date: "2025-01-01" }), /at most 366 days/);
      refused(await run("openai/usage_cost", { start_date: "2025-02-30" }), /^Field "start_date".*not a calendar day/);
    });

    await t.step("a backfill from 1487 or into the future is a 400 and queues nothing", async () => {
      const backfill = (body: unknown) => h.request("POST", `/api/v1/pipelines/backfill/${ORG}`, { key, body });
      refused(
        await backfill({ pipeline: "openai/usage_cost", start_date: "1487-01-01", end_date: "1487-01-10" }),
        /^Field "start_date": 1487-01-01 is before 2015-01-01/,
      );
      refused(
        await backfill({ pipeline: "gcp/billing", start_date: yesterday(), end_date: tomorrow() }),
        /^Field "end_date".*after today/,
      );
      const queue = await h.request("GET", `/api/v1/pipelines/backfill/${ORG}`, { key });
      assert.equal(queue.status, 200, queue.text);
      assert.doesNotMatch(JSON.stringify(queue.json.queue), /[1-9]/, "nothing was queued");
    });

    await t.step("giving date with start_date or end_date is a 400 naming both fields", async () => {
      for (const pipeline of ["openai/usage_cost", "anthropic/usage_cost", "gcp/billing"]) {
        refused(
          await run(pipeline, { date: "2025-11-25", start_date: "2025-11-25" }),
          /^Fields "date" and "start_date" cannot both be given: "date" stands for "start_date" and "end_date"/,
        );
        refused(await run(pipeline, { date: "2025-11-25", end_date: "2025-11-26" }), /^Fields "date" and "end_date"/);
      }
      refused(
        await run("deepseek/usage_cost", { date: yesterday(), start_date: yesterday() }),
        /^Fields "start_date" and "date" cannot both be given/,
      );
    });

    await t.step("DeepSeek takes start_date/end_date for one day only: a balance snapshot covers one day", async () => {
      refused(
        await run("deepseek/usage_cost", { start_date: "2025-11-24", end_date: "2025-11-25" }),
        /^Fields "start_date" \("2025-11-24"\) and "end_date" \("2025-11-25"\) must be equal: both stand for "date", and a balance snapshot covers one day/,
      );
    });

    await t.step("no refused request wrote a run row", async () => {
      assert.equal(await runRows(h), 0);
    });

    await t.step("GET /api/v1/pipelines shows which params are shorthands", async () => {
      const r = await h.request("GET", "/api/v1/pipelines", { key });
      const params = (path: string) => r.json.pipelines.find((p: { path: string }) => p.path === path).params;
      for (const path of ["openai/usage_cost", "anthropic/usage_cost", "gcp/billing"]) {
        const date = params(path).find((p: { name: string }) => p.name === "date");
        assert.deepEqual(date.alias_of, ["start_date", "end_date"], path);
        assert.equal(date.required, false);
      }
      const deepseek = params("deepseek/usage_cost");
      assert.deepEqual(
        deepseek.filter((p: { alias_of?: string[] }) => p.alias_of).map((p: { name: string }) => p.name),
        [
          "start_date",
          "end_date",
        ],
      );
      const openapi = await h.request("GET", "/api/v1/openapi.json");
      const body = openapi.json.paths[`/api/v1/pipelines/run/{org_slug}/gcp/billing`].post.requestBody.content[
        "application/json"
      ].schema;
      assert.deepEqual(body.properties.date["x-alias-of"], ["start_date", "end_date"]);
    });
  } finally {
    await h.close();
  }
});
