/**
 * Crash safety: the server process is SIGKILLed in the middle of a run, restarted, and the run is FAILED,
 * every output table holds either the old or the new complete set of the run's days (never a mix), and a
 * re-run equals a clean run exactly.
 */
import assert from "node:assert/strict";
import { type Spawned, spawnServer, startPermissions } from "../_process.ts";
import { startOpenAIStandIn } from "../standins/openai.ts";
import { openDuckDB } from "../../src/warehouse/mod.ts";

const ROOT = "crash-root-key-0123456789abcdef0123456789";
const KEY_OLD = "sk-admin-crash-old-0000000000000001";
const KEY_NEW = "sk-admin-crash-new-0000000000000002";
const RANGE = { start_date: "2025-09-01", end_date: "2025-10-15" };
const TABLES = ["openai_usage_daily_raw", "openai_costs_daily_raw", "openai_cost_daily"];

async function call(s: Spawned, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const r = await fetch(s.url + path, {
    method,
    headers: { ...headers, "Content-Type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: await r.json() };
}

/** Every output row of the org, without the columns that differ between two runs of the same data. */
async function snapshot(dataDir: string): Promise<Record<string, string[]>> {
  const wh = await openDuckDB(`${dataDir}/warehouse.duckdb`);
  try {
    const out: Record<string, string[]> = {};
    for (const t of TABLES) {
      const rows = await wh.tableExists("crash_org_local", t)
        ? await wh.query(`SELECT * FROM crash_org_local.${t}`)
        : [];
      out[t] = rows.map((r) =>
        JSON.stringify(
          Object.fromEntries(
            Object.entries(r).filter(([k]) => !/(_at|run_id)$/.test(k)).sort(([a], [b]) => a.localeCompare(b)),
          ),
        )
      ).sort();
    }
    return out;
  } finally {
    await wh.close();
  }
}

Deno.test("SIGKILL mid-run: FAILED after restart, each table old-or-new complete, re-run equals a clean run", async () => {
  const openai = startOpenAIStandIn({ keys: { [KEY_OLD]: { seed: "old" }, [KEY_NEW]: { seed: "new" } } });
  const perms = ["run", ...startPermissions(), "runtime/main.ts"];
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const env = (dataDir: string) => ({
    DATA_DIR: dataDir,
    CA_ROOT_API_KEY: ROOT,
    OPENAI_BASE_URL: openai.baseUrl,
    SCHEDULER_ENABLED: "false",
    LOG_LEVEL: "warn",
  });
  const root = { "X-CA-Root-Key": ROOT };
  async function prepare(dataDir: string, credential: string): Promise<{ s: Spawned; key: string }> {
    const s = await spawnServer(perms, env(dataDir), "/health");
    await call(s, "POST", "/api/v1/admin/bootstrap", root, {});
    const on = await call(s, "POST", "/api/v1/organizations/onboard", root, {
      org_slug: "crash_org",
      company_name: "Crash",
      admin_email: "ops@crash.test",
      subscription_plan: "SCALE",
    });
    const key = on.json.api_key as string;
    const setup = await call(s, "POST", "/api/v1/integrations/crash_org/openai/setup", { "X-API-Key": key }, {
      credential,
    });
    assert.equal(setup.status, 200, JSON.stringify(setup.json));
    return { s, key };
  }
  let server: Spawned | undefined;
  try {
    // The old complete set.
    const { s, key } = await prepare(dirs[0]!, KEY_OLD);
    server = s;
    const first = await call(s, "POST", "/api/v1/pipelines/run/crash_org/openai/usage_cost?wait=true", {
      "X-API-Key": key,
    }, RANGE);
    assert.equal(first.json.status, "COMPLETED", JSON.stringify(first.json));
    // Switch to a key whose usage differs, start a run and kill the process while it works.
    assert.equal(
      (await call(s, "POST", "/api/v1/integrations/crash_org/openai/setup", { "X-API-Key": key }, {
        credential: KEY_NEW,
      })).status,
      200,
    );
    await s.stop("SIGKILL");
    const old = await snapshot(dirs[0]!);
    assert.ok(old.openai_usage_daily_raw!.length > 50, "the range has plenty of rows");
    server = await spawnServer(perms, env(dirs[0]!), "/health");
    openai.faults.delayMs = 120; // every page takes a while, so the kill lands inside the run
    const started = await call(server, "POST", "/api/v1/pipelines/run/crash_org/openai/usage_cost", {
      "X-API-Key": key,
    }, RANGE);
    assert.equal(started.status, 202);
    const runId = started.json.run_id as string;
    // Kill once the first output has been written, while the next step is fetching or writing.
    for (let i = 0; i < 400; i++) {
      const r = await call(server, "GET", `/api/v1/pipelines/runs/crash_org/${runId}`, { "X-API-Key": key });
      if (r.json.steps?.length >= 1) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
    await server.stop("SIGKILL");
    openai.faults.delayMs = 0;

    const afterCrash = await snapshot(dirs[0]!);
    assert.notDeepEqual(
      afterCrash.openai_usage_daily_raw,
      old.openai_usage_daily_raw,
      "the first step's write landed before the kill",
    );
    server = await spawnServer(perms, env(dirs[0]!), "/health");
    const run = await call(server, "GET", `/api/v1/pipelines/runs/crash_org/${runId}`, { "X-API-Key": key });
    assert.equal(run.json.status, "FAILED", JSON.stringify(run.json));
    assert.equal(run.json.error_code, "ABANDONED");
    const rerun = await call(server, "POST", "/api/v1/pipelines/run/crash_org/openai/usage_cost?wait=true", {
      "X-API-Key": key,
    }, RANGE);
    assert.equal(rerun.json.status, "COMPLETED", JSON.stringify(rerun.json));
    await server.stop();
    server = undefined;
    const fresh = await snapshot(dirs[0]!);
    for (const t of TABLES) {
      const state = JSON.stringify(afterCrash[t]);
      assert.ok(
        state === JSON.stringify(old[t]) || state === JSON.stringify(fresh[t]),
        `${t} is a mix of old and new rows after the crash`,
      );
    }
    assert.notDeepEqual(old.openai_usage_daily_raw, fresh.openai_usage_daily_raw, "the two keys give different data");

    // A clean run of the new key in a fresh data dir.
    const clean = await prepare(dirs[1]!, KEY_NEW);
    server = clean.s;
    const cleanRun = await call(clean.s, "POST", "/api/v1/pipelines/run/crash_org/openai/usage_cost?wait=true", {
      "X-API-Key": clean.key,
    }, RANGE);
    assert.equal(cleanRun.json.status, "COMPLETED");
    await clean.s.stop();
    server = undefined;
    assert.deepEqual(await snapshot(dirs[1]!), fresh, "the re-run after the crash equals a clean run");
  } finally {
    await server?.stop("SIGKILL");
    await openai.close();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
});
