/**
 * Plan limits per org, over HTTP on a DuckDB harness with the provider stand-ins: concurrent, daily and monthly
 * limits counted across every pipeline and claimed atomically (also by two executors, as two instances would),
 * the 429 QUOTA_EXCEEDED contract with its Retry-After, and GET /organizations/{org}/quota.
 */
import { AppError } from "../../src/errors/mod.ts";
import assert from "node:assert/strict";
import { type Harness, holdFirstSteps, startHarness } from "./_harness.ts";
import { createApp } from "../../runtime/app.ts";
import { RunExecutor } from "../../src/pipeline/executor.ts";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";

const PIPELINES = ["openai/usage_cost", "openai/subscriptions", "anthropic/usage_cost", "deepseek/usage_cost"];
const modules = pipelines as Record<string, PipelineModule>;

async function setupIntegrations(h: Harness, org: string, key: string): Promise<void> {
  for (
    const [provider, credential] of [
      ["openai", OPENAI_STANDIN_KEY],
      ["anthropic", ANTHROPIC_STANDIN_KEY],
      ["deepseek", DEEPSEEK_STANDIN_KEY],
    ] as const
  ) {
    await h.setup(org, provider, key, { credential });
  }
}

/** Waits until none of the org's runs is PENDING or RUNNING and the executors have let go of them. */
async function settled(h: Harness, org: string, ...executors: RunExecutor[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ([h.deps.executor, ...executors].some((e) => e.active > 0)) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const [row] = await h.deps.warehouse.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
       WHERE org_slug = @org AND status IN ('PENDING', 'RUNNING')`,
      { org },
    );
    if (Number(row?.n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`runs of "${org}" did not finish`);
}

/** Run rows written straight into the runs table (COMPLETED unless `status` says otherwise). */
async function seedRuns(
  h: Harness,
  org: string,
  n: number,
  at: Date,
  opts: { status?: "PENDING" | "COMPLETED"; heartbeat?: Date } = {},
): Promise<void> {
  const runs = h.deps.executor.runs;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const runId = `${org}-seed-${at.getTime()}-${i}-${crypto.randomUUID().slice(0, 6)}`;
    ids.push(runId);
    await runs.insertPending({
      run_id: runId,
      org_slug: org,
      pipeline_id: "openai-usage-cost",
      pipeline_path: "openai/usage_cost",
      trigger: "scheduler",
      params: {},
      logical_date: null,
      steps_total: 3,
      requested_by: "test",
      request_id: null,
      worker_id: "quota-test",
      now: at.toISOString(),
    });
    if ((opts.status ?? "COMPLETED") === "COMPLETED") {
      await runs.finish(runId, {
        status: "COMPLETED",
        now: at.toISOString(),
        durationMs: 1,
        stepsCompleted: 3,
        rows: 0,
      });
    }
  }
  if (opts.heartbeat) {
    await h.deps.warehouse.execute(
      `UPDATE organizations.org_meta_pipeline_runs SET heartbeat_at = CAST(@hb AS TIMESTAMP)
       WHERE run_id IN (SELECT * FROM UNNEST(@ids))`,
      { ids, hb: opts.heartbeat.toISOString() },
    );
  }
}

Deno.test("plan limits hold under concurrency, per org, across pipelines and instances", async (t) => {
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const deepseek = startDeepSeekStandIn();
  const h = await startHarness({
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_BASE_URL: anthropic.url,
    DEEPSEEK_BASE_URL: deepseek.url,
    RATE_LIMIT_ENABLED: "false",
  });
  try {
    await h.bootstrap();
    const starter = await h.onboard("quota_starter", "STARTER");
    await setupIntegrations(h, "quota_starter", starter);

    await t.step(
      "four different pipelines started at once on STARTER: exactly one 202, three concurrent 429s",
      async () => {
        const answers = await Promise.all(
          PIPELINES.map((p) =>
            h.request("POST", `/api/v1/pipelines/run/quota_starter/${p}`, { key: starter, body: {} })
          ),
        );
        const statuses = answers.map((a) => a.status).sort();
        assert.deepEqual(statuses, [202, 429, 429, 429], answers.map((a) => a.text).join("\n"));
        for (const a of answers.filter((x) => x.status === 429)) {
          assert.equal(a.json.error.code, "QUOTA_EXCEEDED");
          const d = a.json.error.details;
          assert.deepEqual(
            { limit: d.limit, used: d.used, max: d.max, plan: d.plan, resets_at: d.resets_at },
            { limit: "concurrent", used: 1, max: 1, plan: "STARTER", resets_at: null },
          );
          assert.equal(a.headers.get("Retry-After"), String(d.retry_after_seconds));
          assert.ok(d.retry_after_seconds > 0 && d.retry_after_seconds <= 10, "a few seconds for a slot");
          assert.match(
            a.json.error.message,
            /^Plan limit reached: 1 of 1 concurrent runs for "quota_starter" \(STARTER\)/,
          );
        }
        await settled(h, "quota_starter");
      },
    );

    await t.step("two executors on one warehouse (two instances) still accept only one run at once", async () => {
      const open = holdFirstSteps([h.deps], PIPELINES);
      const other = new RunExecutor({ ...h.deps });
      const executors = [h.deps.executor, other, h.deps.executor, other];
      const results = await Promise.allSettled(
        PIPELINES.map((p, i) =>
          executors[i]!.start(modules[p]!, "quota_starter", {}, {
            trigger: i % 2 ? "scheduler" : "api",
            requestedBy: "t",
          })
        ),
      );
      const accepted = results.filter((r) => r.status === "fulfilled");
      assert.equal(accepted.length, 1, JSON.stringify(results.map((r) => r.status === "rejected" && String(r.reason))));
      for (const r of results) {
        if (r.status === "rejected") {
          assert.ok(r.reason instanceof AppError, String(r.reason));
          assert.equal(r.reason.code, "QUOTA_EXCEEDED");
          assert.equal(r.reason.details?.limit, "concurrent");
        }
      }
      open();
      await (accepted[0] as PromiseFulfilledResult<{ done: Promise<unknown> }>).value.done;
      await settled(h, "quota_starter", other);
    });

    await t.step("the same pipeline twice at once is still 409 RUN_IN_PROGRESS", async () => {
      const scale = await h.onboard("quota_scale", "SCALE");
      await setupIntegrations(h, "quota_scale", scale);
      const [a, b] = await Promise.all(
        [1, 2].map(() =>
          h.request("POST", "/api/v1/pipelines/run/quota_scale/openai/subscriptions", { key: scale, body: {} })
        ),
      );
      assert.deepEqual([a!.status, b!.status].sort(), [202, 409]);
      assert.equal([a!, b!].find((x) => x.status === 409)!.json.error.code, "RUN_IN_PROGRESS");
      await settled(h, "quota_scale");
    });

    await t.step(
      "a PROFESSIONAL org hit with more than 25 runs across pipelines gets exactly 25 in the day",
      async () => {
        const key = await h.onboard("quota_pro", "PROFESSIONAL");
        await setupIntegrations(h, "quota_pro", key);
        const other = new RunExecutor({ ...h.deps });
        let accepted = 0;
        let dailyRefusals = 0;
        for (let round = 0; round < 40 && dailyRefusals < PIPELINES.length; round++) {
          // Each round: four pipelines at once, two over HTTP and two through a second executor (another instance).
          const results = await Promise.allSettled(PIPELINES.map(async (p, i) => {
            if (i < 2) {
              const r = await h.request("POST", `/api/v1/pipelines/run/quota_pro/${p}`, { key, body: {} });
              if (r.status === 202) return "accepted";
              assert.equal(r.status, 429, r.text);
              return r.json.error.details.limit as string;
            }
            try {
              await other.start(modules[p]!, "quota_pro", {}, { trigger: "backfill", requestedBy: "t" });
              return "accepted";
            } catch (err) {
              assert.ok(err instanceof AppError && err.code === "QUOTA_EXCEEDED", String(err));
              return String(err.details?.limit);
            }
          }));
          const outcomes = results.map((r) => (r.status === "fulfilled" ? r.value : `error: ${r.reason}`));
          assert.ok(outcomes.every((o) => ["accepted", "concurrent", "daily"].includes(o)), outcomes.join(", "));
          accepted += outcomes.filter((o) => o === "accepted").length;
          dailyRefusals = outcomes.filter((o) => o === "daily").length;
          await settled(h, "quota_pro", other);
        }
        assert.equal(accepted, 25);
        assert.equal(dailyRefusals, PIPELINES.length, "the last round was refused on the daily limit");
        const q = await h.request("GET", "/api/v1/organizations/quota_pro/quota", { key });
        assert.equal(q.status, 200, q.text);
        assert.deepEqual(q.json.used, { today: 25, month: 25, running: 0 });
        assert.deepEqual(q.json.remaining, { today: 0, month: 725, concurrent: 3 });
        assert.deepEqual(q.json.limits, { per_day: 25, per_month: 750, concurrent: 3 });
      },
    );
  } finally {
    await h.close();
    await openai.close();
    await anthropic.close();
    await deepseek.close();
  }
});

Deno.test("daily and monthly 429s say which limit and retry after the next UTC midnight or month start", async (t) => {
  const openai = startOpenAIStandIn();
  const h = await startHarness({ OPENAI_BASE_URL: openai.baseUrl, RATE_LIMIT_ENABLED: "false" });
  const now = new Date("2026-12-04T18:00:00.000Z");
  const clock = () => now;
  const deps = { ...h.deps, now: clock };
  const app = createApp({ ...deps, executor: new RunExecutor(deps) });
  const call = async (path: string, key: string | undefined, method = "POST") => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (key) headers["X-API-Key"] = key;
    else headers["X-CA-Root-Key"] = "test-root-key-0123456789abcdef0123456789";
    const res = await app.request(path, { method, headers, ...(method === "POST" ? { body: "{}" } : {}) });
    return { status: res.status, headers: res.headers, json: await res.json() };
  };
  try {
    await h.bootstrap();
    const keys: Record<string, string> = {};
    for (const org of ["acme_1", "acme_2"]) {
      keys[org] = await h.onboard(org, "STARTER");
      await h.setup(org, "openai", keys[org], { credential: OPENAI_STANDIN_KEY });
    }

    await t.step("6 runs today on STARTER: the 7th is a daily 429 with Retry-After to next UTC midnight", async () => {
      await seedRuns(h, "acme_1", 6, new Date("2026-12-04T01:00:00.000Z"));
      const r = await call("/api/v1/pipelines/run/acme_1/openai/usage_cost", keys.acme_1);
      assert.equal(r.status, 429, JSON.stringify(r.json));
      assert.equal(r.json.error.code, "QUOTA_EXCEEDED");
      assert.equal(
        r.json.error.message,
        'Plan limit reached: 6 of 6 runs per day for "acme_1" (STARTER); resets at 2026-12-05T00:00:00.000Z',
      );
      assert.deepEqual(r.json.error.details, {
        limit: "daily",
        used: 6,
        max: 6,
        plan: "STARTER",
        resets_at: "2026-12-05T00:00:00.000Z",
        retry_after_seconds: 6 * 3600,
      });
      assert.equal(r.headers.get("Retry-After"), String(6 * 3600));
    });

    await t.step("the quota endpoint shows the same numbers, to the org key and the root key", async () => {
      // One live run and one whose heartbeat went stale (its instance died): only the live one is running.
      await seedRuns(h, "acme_1", 1, new Date("2026-12-03T10:00:00.000Z"), {
        status: "PENDING",
        heartbeat: new Date("2026-12-04T17:59:30.000Z"),
      });
      await seedRuns(h, "acme_1", 1, new Date("2026-12-03T11:00:00.000Z"), {
        status: "PENDING",
        heartbeat: new Date("2026-12-04T17:50:00.000Z"),
      });
      for (const key of [keys.acme_1, undefined]) {
        const q = await call("/api/v1/organizations/acme_1/quota", key, "GET");
        assert.equal(q.status, 200, JSON.stringify(q.json));
        assert.deepEqual(q.json, {
          org_slug: "acme_1",
          plan: "STARTER",
          limits: { per_day: 6, per_month: 180, concurrent: 1 },
          used: { today: 6, month: 8, running: 1 },
          remaining: { today: 0, month: 172, concurrent: 0 },
          resets: { daily: "2026-12-05T00:00:00.000Z", monthly: "2027-01-01T00:00:00.000Z" },
          as_of: now.toISOString(),
        });
      }
      const other = await call("/api/v1/organizations/acme_1/quota", keys.acme_2, "GET");
      assert.equal(other.status, 403);
    });

    await t.step("180 runs this month on STARTER: a monthly 429 until the first of next month", async () => {
      await seedRuns(h, "acme_2", 180, new Date("2026-12-01T08:00:00.000Z"));
      const r = await call("/api/v1/pipelines/run/acme_2/openai/usage_cost", keys.acme_2);
      assert.equal(r.status, 429, JSON.stringify(r.json));
      const seconds = (Date.parse("2027-01-01T00:00:00.000Z") - now.getTime()) / 1000;
      assert.deepEqual(r.json.error.details, {
        limit: "monthly",
        used: 180,
        max: 180,
        plan: "STARTER",
        resets_at: "2027-01-01T00:00:00.000Z",
        retry_after_seconds: seconds,
      });
      assert.equal(r.headers.get("Retry-After"), String(seconds));
      assert.match(r.json.error.message, /180 of 180 runs per month for "acme_2" \(STARTER\); resets at 2027-01-01/);
    });
  } finally {
    await h.close();
    await openai.close();
  }
});

Deno.test("two concurrent claims of one org on DuckDB conflict, and the loser retries and counts the winner", async () => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    await h.onboard("claim_org", "SCALE");
    const now = new Date();
    const waits: number[] = [];
    const claim = (i: number) =>
      h.deps.stores.quotas.claim("claim_org", {
        now,
        sleep: (ms) => {
          waits.push(ms);
          return new Promise((r) => setTimeout(r, ms));
        },
      }, async (tx) => {
        const seen = (await h.deps.stores.quotas.orgState("claim_org", now, {}, tx)).usage.today;
        await new Promise((r) => setTimeout(r, 50)); // hold the claim open while the other one starts
        await h.deps.executor.runs.insertPendingIn(tx, {
          run_id: `claim_org-test-${i}`,
          org_slug: "claim_org",
          pipeline_id: "openai-usage-cost",
          pipeline_path: `test/p${i}`,
          trigger: "api",
          params: {},
          logical_date: null,
          steps_total: 1,
          requested_by: "t",
          request_id: null,
          worker_id: "t",
          now: now.toISOString(),
        });
        return seen;
      });
    await claim(0); // creates the org's lock row
    const seen = await Promise.all([claim(1), claim(2)]);
    assert.deepEqual(seen.sort(), [1, 2], "the second claim counted the first one's run");
    assert.ok(waits.length >= 1, "a write conflict was retried");
  } finally {
    await h.close();
  }
});
