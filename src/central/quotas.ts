/**
 * The org's run counts, plan and credential read in one query, and the atomic claim of a run slot: the one reader
 * of the counts and the one writer of `org_run_claims`. The limits a count is checked against, and the 429 a limit
 * answers with, are in src/pipeline/quota.ts.
 *
 * A claim is one warehouse transaction that first UPDATEs the org's row in `org_run_claims` (so any two
 * concurrent claims of one org conflict, whatever the pipeline, trigger or instance), then counts the org's runs
 * and inserts the PENDING run row or refuses. A lost race (a write conflict) retries the whole transaction.
 *
 * Counting: `today` and `month` are the org's runs created since UTC midnight / the first of the UTC month (any
 * status, any pipeline or trigger; a retry of a run is the same run); `running` are its PENDING or RUNNING runs
 * whose heartbeat is fresher than {@link STALE_AFTER_MS} (a run of a dead instance stops counting).
 */
import { AppError, findAppError } from "../errors/mod.ts";
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

/** A PENDING/RUNNING run whose heartbeat is older than this no longer holds a slot (a run beats every 30 s). */
export const STALE_AFTER_MS = 120_000;
/** Whole claim transactions tried at most when they keep losing write races. */
const CLAIM_TRIES = 8;

export interface Plan {
  readonly name: string;
  readonly perDay: number;
  readonly perMonth: number;
  readonly concurrent: number;
}

export interface Usage {
  readonly today: number;
  readonly month: number;
  readonly running: number;
}

/** What a run needs to know before it starts, read in one query (see {@link QuotaStore.orgState}). */
export interface OrgState {
  /** Fresh PENDING or RUNNING runs of the asked pipeline (0 when none was asked). */
  readonly activeSame: number;
  readonly usage: Usage;
  /** The org's ACTIVE plan, or undefined without an active subscription. */
  readonly plan?: Plan;
  /** The active credential row of the asked provider, or undefined when there is none. */
  readonly credential?: { status: string; encrypted: string; metadata: unknown };
}

/** Options of {@link QuotaStore.claim}. */
export interface ClaimOptions {
  readonly now: Date;
  /** Waits between tries after a lost race; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

function dayStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

export class QuotaStore {
  readonly #claims: TableSchema;

  /** @throws {Error} when `tables` lacks org_run_claims */
  constructor(private readonly wh: Warehouse, tables: TableSchemas) {
    this.#claims = tableOf(tables, "org_run_claims");
  }

  /**
   * The org's usage, plan and (optionally) the runs of one pipeline and the credential of one provider, in one
   * query. `q` may be a transaction (a claim's).
   */
  async orgState(
    orgSlug: string,
    now: Date,
    opts: { pipelinePath?: string | null; provider?: string | null } = {},
    q: Pick<WarehouseTx, "query"> = this.wh,
  ): Promise<OrgState> {
    const [row] = await q.query<Record<string, unknown>>(
      `SELECT u.today, u.month, u.running, u.active_same,
         p.plan_name, p.max_pipelines_per_day, p.max_pipelines_per_month, p.max_concurrent_pipelines, p.has_plan,
         c.validation_status, c.encrypted_credential, c.metadata
       FROM (
         SELECT
           COUNT(CASE WHEN created_at >= CAST(@day AS TIMESTAMP) THEN 1 END) AS today,
           COUNT(CASE WHEN created_at >= CAST(@month_start AS TIMESTAMP) THEN 1 END) AS month,
           COUNT(CASE WHEN status IN ('PENDING', 'RUNNING') AND heartbeat_at >= CAST(@fresh AS TIMESTAMP) THEN 1 END)
             AS running,
           COUNT(CASE WHEN pipeline_path = @path AND status IN ('PENDING', 'RUNNING')
             AND heartbeat_at >= CAST(@fresh AS TIMESTAMP) THEN 1 END) AS active_same
         FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
         WHERE org_slug = @org_slug AND (created_at >= CAST(@month_start AS TIMESTAMP) OR status IN ('PENDING', 'RUNNING'))
       ) u
       LEFT JOIN (
         SELECT plan_name, max_pipelines_per_day, max_pipelines_per_month, max_concurrent_pipelines, TRUE AS has_plan
         FROM ${CENTRAL_DATASET}.org_subscriptions
         WHERE org_slug = @org_slug AND status = 'ACTIVE' ORDER BY created_at DESC LIMIT 1
       ) p ON TRUE
       LEFT JOIN (
         SELECT validation_status, encrypted_credential, metadata FROM ${CENTRAL_DATASET}.org_integration_credentials
         WHERE org_slug = @org_slug AND provider = @provider AND is_active = TRUE LIMIT 1
       ) c ON TRUE`,
      {
        org_slug: orgSlug,
        path: opts.pipelinePath ?? null,
        provider: opts.provider ?? null,
        day: dayStart(now).toISOString(),
        month_start: monthStart(now).toISOString(),
        fresh: new Date(now.getTime() - STALE_AFTER_MS).toISOString(),
      },
    );
    const n = (v: unknown) => Number(v ?? 0);
    return {
      activeSame: n(row?.active_same),
      usage: { today: n(row?.today), month: n(row?.month), running: n(row?.running) },
      ...(row?.has_plan
        ? {
          plan: {
            name: String(row.plan_name ?? "UNKNOWN"),
            perDay: n(row.max_pipelines_per_day),
            perMonth: n(row.max_pipelines_per_month),
            concurrent: n(row.max_concurrent_pipelines),
          },
        }
        : {}),
      ...(row?.validation_status
        ? {
          credential: {
            status: String(row.validation_status),
            encrypted: String(row.encrypted_credential),
            metadata: row.metadata ?? {},
          },
        }
        : {}),
    };
  }

  /**
   * Runs `fn` in a transaction that holds the org's claim lock: `fn` counts and inserts with `tx`; its writes
   * commit together with the lock update, or not at all when it throws. Retried whole on a write conflict.
   * @throws whatever `fn` throws; AppError `CLAIM_CONTENDED` (503) after {@link CLAIM_TRIES} lost races
   */
  async claim<T>(orgSlug: string, opts: ClaimOptions, fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    const wh = this.wh;
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const at = opts.now.toISOString();
    let conflicts = 0;
    let seeded = false;
    for (;;) {
      let out: { value: T } | "no_lock";
      try {
        out = await wh.transaction(async (tx) => {
          const n = await tx.execute(
            `UPDATE ${CENTRAL_DATASET}.org_run_claims SET claims = claims + 1, last_claim_at = CAST(@now AS TIMESTAMP)
             WHERE org_slug = @org_slug`,
            { org_slug: orgSlug, now: at },
          );
          if (n === 0) return "no_lock" as const;
          return { value: await fn(tx) };
        });
      } catch (err) {
        if (err instanceof AppError && err.code !== "WRITE_CONFLICT") throw err;
        if (findAppError(err)?.code === "WRITE_CONFLICT") {
          if (++conflicts >= CLAIM_TRIES) {
            throw new AppError(
              "CLAIM_CONTENDED",
              `Could not claim a run slot for "${orgSlug}": ${CLAIM_TRIES} concurrent claims won the race; retry`,
              { cause: err },
            );
          }
          // Jittered exponential backoff: 10-30 ms, doubling, at most 1 s.
          await sleep(Math.min(1000, (10 + Math.random() * 20) * 2 ** (conflicts - 1)));
          continue;
        }
        // A warehouse bootstrapped before the lock table existed (or recreated since) gets it now.
        if (seeded || await wh.tableExists(CENTRAL_DATASET, this.#claims.table)) throw err;
        out = "no_lock";
      }
      if (out !== "no_lock") return out.value;
      if (seeded) throw new Error(`The claim lock row of "${orgSlug}" in org_run_claims could not be created`);
      await wh.ensureTable(CENTRAL_DATASET, this.#claims);
      await this.#seedLock(orgSlug, at);
      seeded = true;
    }
  }

  /**
   * Creates the org's lock row when missing. Two instances seeding at once may both insert: harmless, a claim
   * updates every row of the org, and of two racing claims at least one sees the other's row.
   */
  async #seedLock(orgSlug: string, at: string): Promise<void> {
    const [row] = await this.wh.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${CENTRAL_DATASET}.org_run_claims WHERE org_slug = @org_slug`,
      { org_slug: orgSlug },
    );
    if (Number(row?.n ?? 0) > 0) return;
    await this.wh.insertRows(CENTRAL_DATASET, this.#claims, [{ org_slug: orgSlug, claims: 0, created_at: at }]);
  }
}
