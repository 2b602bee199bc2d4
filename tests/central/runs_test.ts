/** The runs store on DuckDB: the run list and one run with its steps grouped by attempt. */
import assert from "node:assert/strict";
import { openCentral } from "./_central.ts";
import type { RunsStore } from "../../src/central/mod.ts";

const NOW = "2026-03-02T10:00:00.000Z";

async function run(runs: RunsStore, org: string, runId: string, path: string) {
  await runs.insertPending({
    run_id: runId,
    org_slug: org,
    pipeline_id: path.replace("/", "-"),
    pipeline_path: path,
    trigger: "api",
    params: {},
    logical_date: null,
    steps_total: 2,
    requested_by: "test",
    request_id: null,
    worker_id: "w1",
    now: NOW,
  });
}

async function step(runs: RunsStore, org: string, runId: string, attempt: number, index: number, status: string) {
  await runs.logStep({
    step_log_id: crypto.randomUUID(),
    run_id: runId,
    org_slug: org,
    pipeline_path: "openai/usage_cost",
    step_id: `s${index}`,
    attempt,
    step_index: index,
    ps_type: "test.step",
    status,
    created_at: NOW,
  });
}

Deno.test("the runs store shows a run's latest attempt as steps and the earlier ones as previous_attempts", async () => {
  const c = await openCentral();
  try {
    const { runs } = c.stores;
    await run(runs, "acme", "r1", "openai/usage_cost");
    // Written out of order: the detail orders by attempt, then step index.
    await step(runs, "acme", "r1", 2, 1, "COMPLETED");
    await step(runs, "acme", "r1", 1, 0, "FAILED");
    await step(runs, "acme", "r1", 2, 0, "COMPLETED");
    await runs.flushed();
    const detail = await runs.detail("acme", "r1");
    assert.ok(detail);
    assert.equal(detail.run_id, "r1");
    assert.equal(detail.status, "PENDING");
    assert.deepEqual(detail.steps.map((s) => [s.attempt, s.step_id]), [[2, "s0"], [2, "s1"]]);
    assert.deepEqual(
      detail.previous_attempts.map((a) => [a.attempt, a.steps.map((s) => s.status)]),
      [[1, ["FAILED"]]],
    );
    assert.equal(await runs.detail("other_org", "r1"), undefined, "another org's run is not found");
  } finally {
    await c.close();
  }
});

Deno.test("the runs store lists an org's runs filtered by pipeline and status, at most limit of them", async () => {
  const c = await openCentral();
  try {
    const { runs } = c.stores;
    await run(runs, "acme", "a1", "openai/usage_cost");
    await run(runs, "acme", "a2", "anthropic/usage_cost");
    await run(runs, "acme", "a3", "openai/usage_cost");
    await run(runs, "beta", "b1", "openai/usage_cost");
    await runs.markRunning("a3", NOW);
    await runs.flushed();
    const ids = (rows: Record<string, unknown>[]) => rows.map((r) => r.run_id).sort();
    assert.deepEqual(ids(await runs.list("acme", { limit: 50 })), ["a1", "a2", "a3"]);
    assert.deepEqual(ids(await runs.list("acme", { pipeline: "openai/usage_cost", limit: 50 })), ["a1", "a3"]);
    assert.deepEqual(ids(await runs.list("acme", { status: "RUNNING", limit: 50 })), ["a3"]);
    assert.equal((await runs.list("acme", { limit: 2 })).length, 2);
    assert.throws(() => runs.list("acme", { limit: 501 }), RangeError);
  } finally {
    await c.close();
  }
});
