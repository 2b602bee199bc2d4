/**
 * An upgrade from the release before whole-run retries: the central `org_meta_pipeline_runs` and
 * `org_meta_step_logs` tables lack the NULLABLE `attempt` column. The server starts on that warehouse (start-up
 * brings the existing central tables up to their schemas) and a pipeline run against the OpenAI stand-in
 * completes, writing `attempt` while the old rows read it as null.
 */
import assert from "node:assert/strict";
import { pipeline as bootstrap } from "../../generated/pipelines/setup/bootstrap.ts";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { startServer } from "../../runtime/server.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ROOT, startHarness } from "./_harness.ts";

const ORG = "upgrade_org";
const CENTRAL = "organizations";
const OLD_TABLES = ["org_meta_pipeline_runs", "org_meta_step_logs"] as const;

/** The table's schema of the release before: this release's minus `attempt`. */
function withoutAttempt(table: string): TableSchema {
  const schema = (bootstrap.tables as Record<string, TableSchema>)[table]!;
  assert.ok(schema.fields.some((f) => f.name === "attempt"), `${table} declares attempt in this release`);
  return { ...schema, fields: schema.fields.filter((f) => f.name !== "attempt") };
}

Deno.test("a server started on a warehouse of the previous release adds the attempt columns and completes a run", async () => {
  const standIn = startOpenAIStandIn();
  const env = { OPENAI_BASE_URL: standIn.baseUrl, RATE_LIMIT_ENABLED: "false", SCHEDULER_ENABLED: "false" };
  const old = await startHarness(env);
  const dataDir = old.dataDir;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    // The previous release's state: bootstrapped, one org with the integration, one run, tables without attempt.
    await old.bootstrap();
    const apiKey = await old.onboard(ORG, "SCALE");
    await old.setup(ORG, "openai", apiKey, { credential: OPENAI_STANDIN_KEY });
    const wh = old.deps.warehouse;
    for (const table of OLD_TABLES) {
      await wh.execute(`DROP TABLE ${CENTRAL}.${table}`);
      await wh.ensureTable(CENTRAL, withoutAttempt(table));
    }
    await wh.insertRows(
      CENTRAL,
      withoutAttempt("org_meta_pipeline_runs"),
      [{
        run_id: "run_before_upgrade",
        org_slug: ORG,
        pipeline_path: "openai/usage_cost",
        trigger: "api",
        status: "COMPLETED",
        start_time: "2025-02-01T00:00:00Z",
      }].map((r) => fill(withoutAttempt("org_meta_pipeline_runs"), r)),
    );
    await assert.rejects(wh.query(`SELECT attempt FROM ${CENTRAL}.org_meta_pipeline_runs`), /attempt/);
    await old.deps.executor.drain();
    await wh.close();

    // This release starts on it.
    server = await startServer({ ...env, DATA_DIR: dataDir, CA_ROOT_API_KEY: ROOT, PORT: "0" });
    const res = await fetch(`${server.url}/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true`, {
      method: "POST",
      headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
      body: JSON.stringify({ start_date: "2025-03-01", end_date: "2025-03-02" }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, "COMPLETED", JSON.stringify(body));

    const q = server.deps.warehouse;
    const runs = await q.query<{ run_id: string; attempt: number | null; status: string }>(
      `SELECT run_id, attempt, status FROM ${CENTRAL}.org_meta_pipeline_runs WHERE org_slug = @org ORDER BY start_time`,
      { org: ORG },
    );
    assert.deepEqual(runs, [
      { run_id: "run_before_upgrade", attempt: null, status: "COMPLETED" },
      { run_id: body.run_id, attempt: 1, status: "COMPLETED" },
    ]);
    const steps = await q.query<{ attempt: number | null; status: string }>(
      `SELECT attempt, status FROM ${CENTRAL}.org_meta_step_logs WHERE run_id = @run`,
      { run: body.run_id },
    );
    assert.ok(steps.length > 0);
    assert.ok(steps.every((s) => s.attempt === 1 && s.status === "COMPLETED"), JSON.stringify(steps));
  } finally {
    await server?.shutdown();
    await standIn.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

/** `row` with a placeholder for every other REQUIRED column of `schema`. */
function fill(schema: TableSchema, row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  for (const f of schema.fields) {
    if (f.mode !== "REQUIRED" || f.name in out) continue;
    out[f.name] = { STRING: "x", INT64: 0, TIMESTAMP: "2025-02-01T00:00:00Z", DATE: "2025-02-01" }[f.type as string] ??
      null;
  }
  return out;
}

Deno.test("POST /admin/bootstrap on a bootstrapped warehouse adds the columns an existing table lacks", async () => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    const wh = h.deps.warehouse;
    await wh.execute(`DROP TABLE ${CENTRAL}.org_meta_step_logs`);
    await wh.ensureTable(CENTRAL, withoutAttempt("org_meta_step_logs"));
    const r = await h.request("POST", "/api/v1/admin/bootstrap", { root: true, body: {} });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tables_created, []);
    assert.ok(r.json.tables_existing.includes("org_meta_step_logs"));
    assert.deepEqual(await wh.query(`SELECT attempt FROM ${CENTRAL}.org_meta_step_logs`), []);
  } finally {
    await h.close();
  }
});
