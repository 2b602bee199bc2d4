/**
 * `retry:` means what it says: a failed run is re-executed as the same run (same run_id, its attempt number on
 * the row and on each step log) after `backoff_seconds * 2^(n-1)`, only for failures a retry can fix; and a
 * running run's `steps_completed` counts the steps it has finished. The backoff is injected, so nothing waits.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { RunExecutor } from "../../src/pipeline/executor.ts";
import { defaultProcessors, defineProcessor } from "../../src/processors/mod.ts";
import { defineProcessorSpec } from "../../src/processors/spec.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { pipeline as usageCost } from "../../generated/pipelines/openai/usage_cost.ts";
import { runDetail } from "../../runtime/routes/pipelines.ts";
import { createCentralStores } from "../../src/central/mod.ts";
import { tables } from "../../generated/pipelines/setup/bootstrap.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { AppError } from "../../src/errors/mod.ts";

const spec = (type: string) => defineProcessorSpec({ type, description: type, config: z.strictObject({}) });

/** A pipeline of test steps with `retry: {attempts: 2, backoff_seconds: 300}`. */
function pipeline(id: string, psTypes: string[]): PipelineModule {
  const { integration: _integration, ...rest } = usageCost;
  return {
    ...rest,
    path: `test/${id}`,
    id: `test-${id}`,
    retry: { attempts: 2, backoffSeconds: 300 },
    steps: psTypes.map((psType, i) => ({ id: `step_${i}`, psType, dependsOn: [], config: {}, tables: [], checks: [] })),
    notify: [],
    tables: {},
  };
}

/** The run as `GET /pipelines/runs/{org}/{run_id}` shows it. */
// deno-lint-ignore no-explicit-any -- run rows are arbitrary JSON that each test inspects
function detailOf(h: Harness, org: string, runId: string): Promise<any> {
  return runDetail(h.deps, org, runId);
}

async function stepLogs(h: Harness, runId: string) {
  return await h.deps.warehouse.query<{ attempt: number; step_id: string; status: string }>(
    `SELECT attempt, step_id, status FROM organizations.org_meta_step_logs WHERE run_id = @id
     ORDER BY attempt, step_index`,
    { id: runId },
  );
}

Deno.test("whole-run retries: transient failures retried with backoff as the same run, permanent ones not", async (t) => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    await h.onboard("retry_org", "SCALE");
    let flakyCalls = 0;
    let permanentCalls = 0;
    const processors = defaultProcessors();
    processors.register(defineProcessor(spec("test.flaky"), () => {
      if (flakyCalls++ === 0) throw new Error("connection reset by peer");
      return Promise.resolve({ rowsWritten: 0 });
    }));
    processors.register(defineProcessor(spec("test.down"), () => {
      throw new AppError("PROVIDER_ERROR", "Provider answered 503 every time");
    }));
    processors.register(defineProcessor(spec("test.invalid"), () => {
      permanentCalls++;
      throw new AppError("DQ_CHECK_FAILED", "Data-quality check failed; nothing was written");
    }));
    processors.register(defineProcessor(spec("test.pass"), () => Promise.resolve({ rowsWritten: 0 })));
    const waits: number[] = [];
    const executor = new RunExecutor({
      ...h.deps,
      processors,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    const start = async (p: PipelineModule) => {
      const started = await executor.start(p, "retry_org", {}, { trigger: "scheduler", requestedBy: "test" });
      return { runId: started.runId, outcome: await started.done };
    };

    await t.step("a failing first attempt COMPLETES on attempt 2, after backoff_seconds", async () => {
      waits.length = 0;
      const { runId, outcome } = await start(pipeline("flaky", ["test.pass", "test.flaky"]));
      assert.equal(outcome.status, "COMPLETED", String(outcome.error));
      assert.deepEqual(waits, [300_000]);
      const detail = await detailOf(h, "retry_org", runId);
      assert.equal(detail.run_id, runId, "the retry is the same run");
      assert.equal(detail.attempt, 2);
      assert.equal(detail.status, "COMPLETED");
      assert.equal(detail.error_message, null, "the first attempt's error is gone once the run completes");
      assert.equal(detail.steps_completed, 2);
      assert.deepEqual(detail.steps.map((s: Record<string, unknown>) => [s.attempt, s.status]), [
        [2, "COMPLETED"],
        [2, "COMPLETED"],
      ]);
      assert.deepEqual(detail.previous_attempts, [{
        attempt: 1,
        steps: detail.previous_attempts[0].steps,
      }]);
      assert.deepEqual(
        (await stepLogs(h, runId)).map((s) => [Number(s.attempt), s.step_id, s.status]),
        [[1, "step_0", "COMPLETED"], [1, "step_1", "FAILED"], [2, "step_0", "COMPLETED"], [2, "step_1", "COMPLETED"]],
      );
      const [row] = await h.deps.warehouse.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM organizations.org_meta_pipeline_runs WHERE org_slug = 'retry_org'",
      );
      assert.equal(Number(row!.n), 1, "one run row: a retry is not another run for the daily limit");
    });

    await t.step("a failure that persists is retried `attempts` times with doubling backoff, then FAILED", async () => {
      waits.length = 0;
      const { runId, outcome } = await start(pipeline("down", ["test.down"]));
      assert.equal(outcome.status, "FAILED");
      assert.equal(outcome.errorCode, "PROVIDER_ERROR");
      assert.deepEqual(waits, [300_000, 600_000]);
      const detail = await detailOf(h, "retry_org", runId);
      assert.equal(detail.attempt, 3);
      assert.equal(detail.error_code, "PROVIDER_ERROR");
      assert.deepEqual(detail.previous_attempts.map((a: { attempt: number }) => a.attempt), [1, 2]);
    });

    await t.step("a permanent failure (DQ_CHECK_FAILED) is not retried", async () => {
      waits.length = 0;
      const { runId, outcome } = await start(pipeline("invalid", ["test.invalid"]));
      assert.equal(outcome.status, "FAILED");
      assert.equal(outcome.errorCode, "DQ_CHECK_FAILED");
      assert.deepEqual(waits, []);
      assert.equal(permanentCalls, 1);
      assert.equal((await detailOf(h, "retry_org", runId)).attempt, 1);
    });

    await t.step(
      "a run waiting for its retry is PENDING, holds its slot, and ends when the server drains",
      async () => {
        const stopping = new RunExecutor({
          ...h.deps,
          processors,
          sleep: (_ms, signal) => new Promise((r) => signal.addEventListener("abort", () => r(), { once: true })),
        });
        const started = await stopping.start(pipeline("down", ["test.down"]), "retry_org", {}, {
          trigger: "api",
          requestedBy: "test",
        });
        let row;
        for (let i = 0; i < 200; i++) {
          await stopping.runs.flushed();
          row = await detailOf(h, "retry_org", started.runId);
          if (row.attempt === 2) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(row?.status, "PENDING");
        assert.equal(row?.error_code, "PROVIDER_ERROR", "the failed attempt's error shows while it waits");
        await assert.rejects(
          stopping.start(pipeline("down", ["test.down"]), "retry_org", {}, { trigger: "api", requestedBy: "test" }),
          (err: AppError) => err.code === "RUN_IN_PROGRESS",
        );
        await stopping.drain(5_000);
        const outcome = await started.done;
        assert.equal(outcome.status, "FAILED");
      },
    );
  } finally {
    await h.close();
  }
});

Deno.test("a provider answering 500 until the HTTP retries give up: the run COMPLETES on attempt 2", async () => {
  const openai = startOpenAIStandIn();
  const waits: number[] = [];
  const h = await startHarness({ OPENAI_BASE_URL: openai.baseUrl, RATE_LIMIT_ENABLED: "false" }, {
    retrySleep: (ms) => {
      waits.push(ms);
      // The stand-in recovers during the backoff.
      openai.faults.fail5xx = 0;
      return Promise.resolve();
    },
  });
  try {
    await h.bootstrap();
    const key = await h.onboard("retry_http", "SCALE");
    const setup = await h.request("POST", "/api/v1/integrations/retry_http/openai/setup", {
      key,
      body: { credential: OPENAI_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);
    openai.faults.fail5xx = 1000;
    const r = await h.request("POST", "/api/v1/pipelines/run/retry_http/openai/usage_cost?wait=true", {
      key,
      body: { start_date: "2025-03-01", end_date: "2025-03-01" },
    });
    assert.equal(r.json.status, "COMPLETED", r.text);
    assert.equal(r.json.attempt, 2);
    assert.deepEqual(waits, [300_000], "retry: {attempts: 2, backoff_seconds: 300} of openai/usage_cost");
    assert.equal(r.json.previous_attempts[0].steps[0].status, "FAILED");
    assert.match(r.json.previous_attempts[0].steps[0].error_message, /OpenAI GET .* failed: 50\d.*gave up after/);
    const shown = await h.request("GET", `/api/v1/pipelines/runs/retry_http/${r.json.run_id}`, { key });
    assert.equal(shown.json.attempt, 2);
    assert.equal(shown.json.status, "COMPLETED");
  } finally {
    await h.close();
    await openai.close();
  }
});

Deno.test("a running run's steps_completed counts its finished steps while a later step still runs", async () => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    const key = await h.onboard("progress_org", "SCALE");
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inSlowStep = new Promise<void>((r) => (entered = r));
    const processors = defaultProcessors();
    processors.register(defineProcessor(spec("test.quick"), () => Promise.resolve({ rowsWritten: 0 })));
    processors.register(defineProcessor(spec("test.slow"), async () => {
      entered();
      await blocked;
      return { rowsWritten: 0 };
    }));
    const executor = new RunExecutor({ ...h.deps, processors });
    const started = await executor.start(
      pipeline("progress", ["test.quick", "test.quick", "test.slow"]),
      "progress_org",
      {},
      { trigger: "api", requestedBy: "test" },
    );
    await inSlowStep;
    await executor.runs.flushed();
    const running = await h.request("GET", `/api/v1/pipelines/runs/progress_org/${started.runId}`, { key });
    assert.equal(running.status, 200, running.text);
    assert.equal(running.json.status, "RUNNING");
    assert.equal(running.json.steps_completed, 2);
    assert.deepEqual(running.json.steps.map((s: { status: string }) => s.status), ["COMPLETED", "COMPLETED"]);
    release();
    assert.equal((await started.done).status, "COMPLETED");
  } finally {
    await h.close();
  }
});

Deno.test("a run whose end cannot be written at first (disk full) is recorded once the warehouse takes writes again", async () => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    await h.onboard("end_org", "SCALE");
    let down = false;
    const inner = h.deps.warehouse;
    const refusing = new Set(["execute", "insertRows", "transaction", "replacePartitions"]);
    const warehouse = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (refusing.has(String(prop))) {
          return (...args: unknown[]) =>
            down
              ? Promise.reject(new Error("IO Error: No space left on device"))
              : (value as (...a: unknown[]) => unknown).apply(target, args);
        }
        return value.bind(target);
      },
    });
    const processors = defaultProcessors();
    processors.register(defineProcessor(spec("test.fill_disk"), () => {
      down = true; // everything the run writes from here on is refused, its end included
      return Promise.resolve({ rowsWritten: 0 });
    }));
    const waits: number[] = [];
    const executor = new RunExecutor({
      ...h.deps,
      warehouse,
      stores: createCentralStores(warehouse, tables, h.deps.vault),
      processors,
      sleep: (ms) => {
        waits.push(ms);
        down = false; // space was freed while the executor waited
        return Promise.resolve();
      },
    });
    const p = { ...pipeline("fill", ["test.fill_disk"]), retry: undefined };
    const started = await executor.start(p, "end_org", {}, { trigger: "api", requestedBy: "test" });
    const outcome = await started.done;
    assert.equal(outcome.status, "COMPLETED", String(outcome.error));
    assert.equal(waits.length, 1, `one pause before the end was written again: ${waits}`);
    const [row] = await inner.query<{ status: string; end_time: string | null }>(
      "SELECT status, end_time FROM organizations.org_meta_pipeline_runs WHERE run_id = @id",
      { id: started.runId },
    );
    assert.equal(row?.status, "COMPLETED", "the run does not stay RUNNING");
    assert.ok(row?.end_time, "its end time is recorded");
  } finally {
    await h.close();
  }
});
