/**
 * Start-up: settings (every problem listed), root key, warehouse, vault, app, HTTP server, and a graceful
 * shutdown that stops taking requests, lets in-flight ones finish, then closes the warehouse.
 */
import { join } from "node:path";
import { loadSettings, readEnv, type Settings } from "./config.ts";
import { Logger } from "./logger.ts";
import { secureDataDir } from "./data_dir.ts";
import { createApp } from "./app.ts";
import type { AppDeps } from "./context.ts";
import { openWarehouse } from "../src/warehouse/mod.ts";
import { openVault } from "../src/vault/mod.ts";
import { createCentralStores } from "../src/central/mod.ts";
import { defaultProcessors } from "../src/processors/mod.ts";
import type { Warehouse } from "../src/warehouse/warehouse.ts";
import { type ExecutorDeps, RunExecutor } from "../src/pipeline/executor.ts";
import { pickBaseUrls } from "../src/providers/catalogue.ts";
import { Scheduler } from "../src/scheduler/scheduler.ts";
import { registerCron } from "./scheduler.ts";
import { CENTRAL_DATASET } from "../src/central/tables.ts";
import { AppError } from "../src/errors/mod.ts";
import { repairPricingOverlaps } from "./routes/pricing.ts";
import { centralTables } from "../generated/tables.ts";
import { pipelines } from "../generated/manifest.ts";
import { QueueStore } from "../src/central/queue.ts";
import { ScheduleReads } from "../src/central/schedule_reads.ts";

/** The configuration cannot start the product: `CONFIG_INVALID`, every problem in the message and `details`. */
export function startupError(problems: string[]): AppError {
  return new AppError("CONFIG_INVALID", `Configuration invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
    details: { problems },
  });
}

/** The root key from the settings or, outside production, from `${DATA_DIR}/root_api_key` (created 0600, printed once). */
export async function resolveRootKey(settings: Settings, print: (line: string) => void): Promise<string> {
  if (settings.rootApiKey) return settings.rootApiKey;
  if (settings.environment === "production") throw startupError(["CA_ROOT_API_KEY is required in production"]);
  const path = join(settings.dataDir, "root_api_key");
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const key = `ca_root_${bytes.toBase64({ alphabet: "base64url", omitPadding: true })}`;
  try {
    await Deno.writeTextFile(path, key + "\n", { mode: 0o600, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return (await Deno.readTextFile(path)).trim();
    throw e;
  }
  print(`Generated a root API key for this development instance (stored 0600 in ${path}; shown once):\n  ${key}`);
  return key;
}

/** DATA_DIR must exist (or be creatable) and be writable: a clear start-up problem otherwise, not a stack trace. */
export async function checkDataDir(dataDir: string): Promise<void> {
  const probe = join(dataDir, `.write_probe_${Deno.pid}`);
  try {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split(":")[0] : String(err);
    throw startupError([`DATA_DIR "${dataDir}" is not usable: ${reason}`]);
  }
}

export interface RunningServer {
  readonly url: string;
  readonly deps: AppDeps;
  shutdown(): Promise<void>;
}

export async function buildDeps(
  settings: Settings,
  logger: Logger,
  warehouse?: Warehouse,
  /** Test seams of the run executor (e.g. a `sleep` that skips whole-run retry backoffs). */
  executorOptions: Pick<ExecutorDeps, "sleep"> = {},
): Promise<AppDeps> {
  await Deno.mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  const secured = await secureDataDir(settings.dataDir);
  if (secured.tightened) logger.info("tightened modes under DATA_DIR to 0600/0700", { entries: secured.tightened });
  if (secured.refused.length) {
    logger.warn("cannot tighten modes under DATA_DIR", { entries: secured.refused.slice(0, 10) });
  }
  const rootKey = await resolveRootKey(settings, (line) => console.log(line));
  const wh = warehouse ?? await openWarehouse(
    settings.warehouse === "bigquery"
      ? { kind: "bigquery", projectId: settings.gcpProjectId!, location: settings.bigqueryLocation }
      : { kind: "duckdb", path: join(settings.dataDir, "warehouse.duckdb") },
  );
  const vault = await openVault(
    settings.kmsKeyName && settings.environment !== "development"
      ? { kind: "cloud_kms", keyName: settings.kmsKeyName }
      : { kind: "local", dataDir: settings.dataDir },
  );
  const base = {
    settings,
    logger,
    rootKey,
    ...(settings.previousRootApiKey ? { previousRootKey: settings.previousRootApiKey } : {}),
    warehouse: wh,
    vault,
    // The central stores get the table schemas here, at start-up: nothing under src/ imports generated/.
    stores: createCentralStores(wh, centralTables, vault),
    processors: defaultProcessors(),
    now: () => new Date(),
    env: {
      environment: settings.environment,
      datasetSuffix: settings.datasetSuffix,
      dataDir: settings.dataDir,
      ...pickBaseUrls(settings),
      ...(settings.gcpTokenUri ? { gcpTokenUri: settings.gcpTokenUri } : {}),
    },
  };
  const executor = new RunExecutor({ ...base, ...executorOptions });
  const queue = new QueueStore(wh, centralTables);
  const scheduler = new Scheduler({ queue, reads: new ScheduleReads(wh), executor, logger, pipelines }, {
    concurrency: settings.scheduler.concurrency,
    maxAttempts: settings.scheduler.maxAttempts,
    catchupDays: settings.scheduler.catchupDays,
    now: base.now,
  });
  return { ...base, executor, scheduler };
}

/**
 * Runs left PENDING/RUNNING by a dead process become FAILED so they can be re-run. The embedded default
 * has one process per DuckDB file, so all of them are abandoned; on BigQuery only those whose heartbeat
 * is older than two minutes.
 */
export async function recoverAbandonedRuns(deps: AppDeps): Promise<number> {
  if (!(await deps.stores.runs.ready())) return 0;
  const now = deps.now();
  const n = await deps.stores.runs.failAbandoned({
    now: now.toISOString(),
    staleBefore: new Date(now.getTime() - 120_000).toISOString(),
    allWorkers: deps.warehouse.kind === "duckdb",
  });
  if (n) deps.logger.warn("marked runs abandoned by a previous process as FAILED", { runs: n });
  return n;
}

/**
 * Brings the central tables that exist up to this release's schemas (`ensureTable` adds the NULLABLE columns they
 * lack), so a deployment upgraded from an earlier release keeps working without a force-recreate. Tables still
 * missing are left to the bootstrap. Resolves the tables checked.
 * @throws {AppError} `TABLE_UPGRADE_REFUSED` naming the table and column when one cannot be upgraded by adding columns
 */
export async function upgradeCentralTables(deps: AppDeps): Promise<string[]> {
  const wh = deps.warehouse;
  if (!(await wh.datasetExists(CENTRAL_DATASET))) return [];
  const checked: string[] = [];
  for (const schema of Object.values(centralTables)) {
    if (!(await wh.tableExists(CENTRAL_DATASET, schema.table))) continue;
    await wh.ensureTable(CENTRAL_DATASET, schema);
    checked.push(schema.table);
  }
  return checked;
}

/** Starts the product from `env`; throws `startupError` (CONFIG_INVALID) listing every configuration problem. */
export async function startServer(
  env: Record<string, string | undefined> = readEnv(),
): Promise<RunningServer> {
  const { settings, problems } = loadSettings(env);
  if (problems.length) throw startupError(problems);
  await checkDataDir(settings.dataDir);
  const logger = new Logger({ level: settings.logLevel });
  const deps = await buildDeps(settings, logger);
  await upgradeCentralTables(deps).catch((e) => {
    logger.error("cannot upgrade the central tables", { error: (e as Error).message });
    throw e;
  });
  await recoverAbandonedRuns(deps);
  await repairPricingOverlaps(deps);
  if (await deps.warehouse.tableExists(CENTRAL_DATASET, "org_pipeline_execution_queue")) {
    await deps.scheduler.resume(deps.warehouse.kind === "duckdb", { catchUp: settings.schedulerEnabled });
  }
  if (settings.schedulerEnabled) registerCron(deps);
  const app = await createApp(deps);
  const server = Deno.serve({ port: settings.port, hostname: "0.0.0.0", onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  logger.info("listening", { url, environment: settings.environment, warehouse: settings.warehouse });
  let closing: Promise<void> | undefined;
  return {
    url,
    deps,
    shutdown() {
      closing ??= (async () => {
        logger.info("shutting down");
        await server.shutdown();
        deps.scheduler.stop();
        await deps.executor.drain();
        await deps.warehouse.close();
      })();
      return closing;
    },
  };
}
