/**
 * Plan limits per org: how the org's runs are counted (one query, shared by the run claim and the quota
 * endpoint), the 429 a limit answers with, and the atomic claim of a run slot.
 *
 * A claim is one warehouse transaction that first UPDATEs the org's row in `org_run_claims` (so any two
 * concurrent claims of one org conflict, whatever the pipeline, trigger or instance), then counts the org's runs
 * and inserts the PENDING run row or refuses. A lost race (a write conflict) retries the whole transaction.
 * Within one process claims of an org also wait for each other ({@link OrgMutex}), so the conflict path is rare.
 *
 * Counting: `today` and `month` are the org's runs created since UTC midnight / the first of the UTC month (any
 * status, any pipeline or trigger; a retry of a run is the same run); `running` are its PENDING or RUNNING runs
 * whose heartbeat is fresher than {@link STALE_AFTER_MS} (a run of a dead instance stops counting).
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import { findAppError } from "../errors/mod.ts";
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { pipelines } from "../../generated/manifest.ts";
import { AppError } from "../errors/mod.ts";

export const CLAIMS_TABLE: TableSchema = pipelines["setup/bootstrap"].tables.org_run_claims;
/** A PENDING/RUNNING run whose heartbeat is older than this no longer holds a slot (a run beats every 30 s). */
export const STALE_AFTER_MS = 120_000;
/** `Retry-After` of a concurrency 429: a slot frees when a running run ends, which nothing predicts. */
export const CONCURRENT_RETRY_SECONDS = 5;
/** Whole claim transactions tried at most when they keep losing write races. */
const CLAIM_TRIES = 8;

export type QuotaLimit = "concurrent" | "daily" | "monthly";

/** `details` of a 429 `QUOTA_EXCEEDED` (the scheduler reads them). */
export interface QuotaDetails {
  readonly limit: QuotaLimit;
  readonly used: number;
  readonly max: number;
  readonly plan: string;
  /** Next UTC midnight (daily), next UTC month start (monthly), null (concurrent). */
  readonly resets_at: string | null;
  readonly retry_after_seconds: number;
  readonly [key: string]: unknown;
}

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

/** What a run needs to know before it starts, read in one query (see {@link readOrgState}). */
export interface OrgState {
  /** Fresh PENDING or RUNNING runs of the asked pipeline (0 when none was asked). */
  readonly activeSame: number;
  readonly usage: Usage;
  /** The org's ACTIVE plan, or undefined without an active subscription. */
  readonly plan?: Plan;
  /** The active credential row of the asked provider, or undefined when there is none. */
  readonly credential?: { status: string; encrypted: string; metadata: unknown };
}

/** The next UTC midnight after `now`. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** The first instant of the UTC month after `now`'s. */
export function nextMonthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

function dayStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/**
 * The org's usage, plan and (optionally) the runs of one pipeline and the credential of one provider, in one
 * query. `q` may be a transaction.
 */
export async function readOrgState(
  q: Pick<WarehouseTx, "query">,
  orgSlug: string,
  now: Date,
  opts: { pipelinePath?: string | null; provider?: string | null } = {},
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
 * The 429 for the first limit `usage` has reached, or undefined when one more run fits. Monthly is checked
 * first, then daily, then concurrent: the limit reported is the one that lasts longest.
 */
export function quotaExceeded(orgSlug: string, plan: Plan, usage: Usage, now: Date): AppError | undefined {
  const checks: [QuotaLimit, number, number, Date | null, string][] = [
    ["monthly", usage.month, plan.perMonth, nextMonthStart(now), "runs per month"],
    ["daily", usage.today, plan.perDay, nextUtcMidnight(now), "runs per day"],
    ["concurrent", usage.running, plan.concurrent, null, "concurrent runs"],
  ];
  for (const [limit, used, max, resets, what] of checks) {
    if (used < max) continue;
    const retryAfter = resets
      ? Math.max(1, Math.ceil((resets.getTime() - now.getTime()) / 1000))
      : CONCURRENT_RETRY_SECONDS;
    const details: QuotaDetails = {
      limit,
      used,
      max,
      plan: plan.name,
      resets_at: resets?.toISOString() ?? null,
      retry_after_seconds: retryAfter,
    };
    const when = resets ? `resets at ${resets.toISOString()}` : "a slot frees when one of its runs ends";
    return new AppError(
      "QUOTA_EXCEEDED",
      `Plan limit reached: ${used} of ${max} ${what} for "${orgSlug}" (${plan.name}); ${when}`,
      { details: { ...details }, retryAfterS: retryAfter },
    );
  }
  return undefined;
}

/** The org has no active subscription: no run can be counted against a plan. */
export function noPlan(orgSlug: string): AppError {
  return new AppError("ORG_NOT_FOUND", `Organization "${orgSlug}" has no active subscription`);
}

/** One async mutex per key: callers of one key run one at a time, in arrival order. */
export class OrgMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** Options of {@link claimForOrg}. */
export interface ClaimOptions {
  readonly now: Date;
  /** Waits between tries after a lost race; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `fn` in a transaction that holds the org's claim lock: `fn` counts and inserts with `tx`; its writes
 * commit together with the lock update, or not at all when it throws. Retried whole on a write conflict.
 * @throws whatever `fn` throws; AppError 503 `CLAIM_CONTENDED` after {@link CLAIM_TRIES} lost races
 */
export async function claimForOrg<T>(
  wh: Warehouse,
  orgSlug: string,
  opts: ClaimOptions,
  fn: (tx: WarehouseTx) => Promise<T>,
): Promise<T> {
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
      if (seeded || await wh.tableExists(CENTRAL_DATASET, CLAIMS_TABLE.table)) throw err;
      out = "no_lock";
    }
    if (out !== "no_lock") return out.value;
    if (seeded) throw new Error(`The claim lock row of "${orgSlug}" in org_run_claims could not be created`);
    await wh.ensureTable(CENTRAL_DATASET, CLAIMS_TABLE);
    await seedLock(wh, orgSlug, at);
    seeded = true;
  }
}

/**
 * Creates the org's lock row when missing. Two instances seeding at once may both insert: harmless, a claim
 * updates every row of the org, and of two racing claims at least one sees the other's row.
 */
async function seedLock(wh: Warehouse, orgSlug: string, at: string): Promise<void> {
  const [row] = await wh.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${CENTRAL_DATASET}.org_run_claims WHERE org_slug = @org_slug`,
    { org_slug: orgSlug },
  );
  if (Number(row?.n ?? 0) > 0) return;
  await wh.insertRows(CENTRAL_DATASET, CLAIMS_TABLE, [{ org_slug: orgSlug, claims: 0, created_at: at }]);
}
