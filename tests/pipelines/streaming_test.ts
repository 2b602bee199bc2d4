/**
 * Steps that stream their rows: `pageBatches` (first page before the step returns, one page ahead at most, a
 * failed page named), and openai/usage_cost end to end where a page failing part-way or a data-quality check
 * failing on the last page leaves every day as it was.
 */
import { AppError } from "../../src/errors/mod.ts";
import { statusOf } from "../../runtime/error_status.ts";
import assert from "node:assert/strict";
import { pageBatches } from "../../src/processors/_cost.ts";
import { type ProcessorContext } from "../../src/processors/context.ts";
import { startHarness } from "../runtime/_harness.ts";
import { startOpenAIStandIn } from "../standins/openai.ts";
import { pipeline as usageCost } from "../../generated/pipelines/openai/usage_cost.ts";

/** Step statuses when the first step (extract_usage) fails: every later step is skipped. */
const FIRST_FAILED = usageCost.steps.map((_, i) => (i === 0 ? "FAILED" : "SKIPPED"));

const quiet = () => {};
const ctx = (signal?: AbortSignal) =>
  ({
    step: { id: "extract" },
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    ...(signal ? { signal } : {}),
  }) as unknown as ProcessorContext;

/** A listing of `pages` pages of 3 rows; counts what was asked of it. */
function listing(pages: number, failOn?: number) {
  const stats = { requested: 0, returned: false };
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        const n = ++stats.requested;
        await new Promise((r) => setTimeout(r, 1));
        if (n === failOn) throw new Error(`HTTP 500 on page ${n}`);
        return n > pages ? { done: true, value: undefined } : { done: false, value: n };
      },
      return() {
        stats.returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return { iterable, stats };
}
const rowsOf = (page: number) => [1, 2, 3].map((i) => ({ page, i }));

Deno.test("pageBatches() fetches the first page up front and stays at most one page ahead", async () => {
  const { iterable, stats } = listing(5);
  const batches = await pageBatches(ctx(), "usage", iterable, rowsOf);
  assert.equal(stats.requested, 1, "the first page arrived before the step returned");
  const seen: number[] = [];
  for await (const batch of batches) {
    assert.ok(stats.requested <= batch[0]!.page + 1, `page ${batch[0]!.page} in hand, ${stats.requested} requested`);
    seen.push(batch[0]!.page);
    await new Promise((r) => setTimeout(r, 5)); // the writer is slower than the provider
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
});

Deno.test("pageBatches() names the failed page, and a consumer that stops early ends the listing", async () => {
  const first = listing(5, 1);
  await assert.rejects(
    pageBatches(ctx(), "OpenAI completions usage", first.iterable, rowsOf),
    (e) =>
      e instanceof AppError && statusOf(e.code) === 502 &&
      /Fetching OpenAI completions usage page 1 failed/.test(e.message),
  );
  const third = listing(5, 3);
  const batches = await pageBatches(ctx(), "OpenAI completions usage", third.iterable, rowsOf);
  const got: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of batches) got.push(b[0]!.page);
    })(),
    /Fetching OpenAI completions usage page 3 failed: HTTP 500 on page 3/,
  );
  assert.deepEqual(got, [1, 2]);

  const early = listing(50);
  for await (const _ of await pageBatches(ctx(), "usage", early.iterable, rowsOf)) break;
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(early.stats.requested <= 2, `${early.stats.requested} pages requested for one batch`);
  assert.equal(early.stats.returned, true);
});

const ORG = "stream_org";
const KEY_A = "sk-admin-stream-a-000000000000000001";
const KEY_B = "sk-admin-stream-b-000000000000000002";
const RANGE = { start_date: "2025-05-01", end_date: "2025-05-20" }; // 3 usage pages of 7 days
const TABLES = ["openai_usage_daily_raw", "openai_costs_daily_raw", "openai_cost_daily"];

Deno.test("openai/usage_cost: a page failing part-way or a check failing on the last page writes nothing", async (t) => {
  const openai = startOpenAIStandIn({ keys: { [KEY_A]: { seed: "a" }, [KEY_B]: { seed: "b" } } });
  // A proxy in front of the stand-in that can break the second usage page or duplicate a group on the last.
  let mode: "pass" | "fail_page_2" | "duplicate_last" = "pass";
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const u = new URL(req.url);
    const usage = u.pathname.endsWith("/usage/completions");
    if (mode === "fail_page_2" && usage && u.searchParams.has("page")) {
      return Response.json({ error: { message: "Invalid 'page' cursor.", type: "invalid_request_error" } }, {
        status: 400,
      });
    }
    const res = await fetch(openai.url + u.pathname + u.search, { headers: req.headers });
    const body = await res.json();
    if (mode === "duplicate_last" && usage && body.has_more === false) {
      body.data[0].results.push(structuredClone(body.data[0].results[0]));
    }
    return Response.json(body, { status: res.status });
  });
  const h = await startHarness({
    OPENAI_BASE_URL: `http://127.0.0.1:${proxy.addr.port}/v1`,
    RATE_LIMIT_ENABLED: "false",
  });
  const snapshot = () =>
    Promise.all(TABLES.map((n) => h.deps.warehouse.query(`SELECT * FROM ${ORG}_local.${n} ORDER BY ALL`)));
  const run = () => h.request("POST", `/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true`, { key, body: RANGE });
  let key = "";
  try {
    await h.bootstrap();
    key = await h.onboard(ORG, "SCALE");
    const setKey = async (credential: string) =>
      assert.equal(
        (await h.request("POST", `/api/v1/integrations/${ORG}/openai/setup`, { key, body: { credential } })).status,
        200,
      );
    await setKey(KEY_A);
    const first = await run();
    assert.equal(first.json.status, "COMPLETED", first.text);
    const before = await snapshot();
    assert.ok(before[0]!.length > 50);
    await setKey(KEY_B); // its usage differs, so any write would show

    await t.step("the second page fails: the run fails naming it, and no day of the first page changed", async () => {
      mode = "fail_page_2";
      const r = await run();
      assert.equal(r.json.status, "FAILED", r.text);
      assert.match(r.json.error, /Fetching OpenAI completions usage page 2 failed: OpenAI GET \/organization\/usage/);
      assert.deepEqual(r.json.steps.map((s: { status: string }) => s.status), FIRST_FAILED);
      assert.deepEqual(await snapshot(), before);
    });

    await t.step(
      "a duplicate group on the last page fails the unique check after streaming: nothing written",
      async () => {
        mode = "duplicate_last";
        const r = await run();
        assert.equal(r.json.status, "FAILED", r.text);
        assert.match(
          r.json.error,
          /Data-quality check "usage_one_row_per_group" failed: 1 duplicate rows.*nothing was written/,
        );
        assert.deepEqual(await snapshot(), before);
        const dq = await h.deps.warehouse.query<{ check_name: string; passed: boolean; observed_value: string }>(
          `SELECT check_name, passed, observed_value FROM organizations.org_meta_dq_results
         WHERE run_id = @id ORDER BY check_name`,
          { id: r.json.run_id },
        );
        assert.deepEqual(dq.map((d) => [d.check_name, d.passed, Number(d.observed_value)]), [
          ["usage_keys_not_null", true, 0],
          ["usage_one_row_per_group", false, 1],
          ["usage_tokens_non_negative", true, 0],
        ]);
      },
    );

    await t.step("with the provider healthy again the same run replaces the days", async () => {
      mode = "pass";
      const r = await run();
      assert.equal(r.json.status, "COMPLETED", r.text);
      const after = await snapshot();
      assert.notDeepEqual(after[0], before[0]);
      assert.equal(
        new Set(after[0]!.map((x) => x.usage_date)).size,
        20,
        "every day of the range, from all three pages",
      );
    });
  } finally {
    await h.close();
    await proxy.shutdown();
    await openai.close();
  }
});
