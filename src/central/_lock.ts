/**
 * One writer at a time per (org, scope) of the effective-dated tables, across processes sharing one warehouse.
 *
 * Every write runs as `warehouse.transaction()` whose first statement updates the scope's row in
 * organizations.org_reference_locks. Two concurrent writers of one scope then conflict on that row (DuckDB
 * "Conflict on update", BigQuery "Could not serialize access ... due to concurrent update") and the loser is rolled
 * back before it has read anything, so whatever it checks (overlaps, "is the org still empty") it checks against
 * every write committed before it. A lost race is retried a few times with jitter, then answered 409
 * `WRITE_CONFLICT`. An in-process mutex per (warehouse, org, scope) serialises this process's own writers first, so
 * the conflict path is normally only taken between processes.
 *
 * Lock rows are created on first use outside the transaction: two creators may both insert one, which is harmless
 * because writers update every row of the scope, and every writer's snapshot holds the scope's first-committed row
 * (it saw a row, or inserted one, before it began), so any two writers share at least that row.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { qualified, type Warehouse, type WarehouseTx } from "../warehouse/warehouse.ts";
import { AppError, DEPENDENCY_CODES, findAppError } from "../errors/mod.ts";

/** The warehouse and the org_reference_locks schema (from the bootstrap pipeline's tables) a write locks in. */
export interface LockTarget {
  readonly warehouse: Warehouse;
  readonly locks: TableSchema;
}

/** Attempts of a write that keeps losing the race before it is answered 409 `WRITE_CONFLICT`. */
export const WRITE_ATTEMPTS = 6;

/** Per warehouse object (one per process): this process's queue of writers per lock, and the lock rows it has seen. */
interface LocalState {
  readonly tails: Map<string, Promise<void>>;
  /** Lock keys whose row is known to exist; `""` once the lock table is known to exist. */
  readonly known: Set<string>;
}
const states = new WeakMap<Warehouse, LocalState>();

function stateOf(wh: Warehouse): LocalState {
  let s = states.get(wh);
  if (!s) states.set(wh, s = { tails: new Map(), known: new Set() });
  return s;
}

/** Runs `fn` after every earlier holder of `key` in this process has finished. */
async function serially<T>(s: LocalState, key: string, fn: () => Promise<T>): Promise<T> {
  const previous = s.tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const tail = previous.then(() => new Promise<void>((r) => (release = r)));
  s.tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (s.tails.get(key) === tail) s.tails.delete(key);
  }
}

/** Creates the lock table and the scope's lock row when this process has not seen them yet. */
async function ensureLockRow(at: LockTarget, s: LocalState, org: string, scope: string, now: Date): Promise<void> {
  const key = `${org}\u0000${scope}`;
  if (s.known.has(key)) return;
  const wh = at.warehouse;
  if (!s.known.has("")) {
    await wh.ensureTable(CENTRAL_DATASET, at.locks);
    s.known.add("");
  }
  const [r] = await wh.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM ${
      qualified(CENTRAL_DATASET, at.locks.table)
    } WHERE org_slug = @org_slug AND scope = @scope`,
    { org_slug: org, scope },
  );
  if (Number(r?.n ?? 0) === 0) {
    await wh.insertRows(CENTRAL_DATASET, at.locks, [
      { org_slug: org, scope, version: 0, created_at: now, updated_at: now },
    ]);
  }
  s.known.add(key);
}

/** Thrown inside the transaction when the lock row vanished (e.g. the central dataset was recreated). */
function lockRowMissing(scope: string): AppError {
  return new AppError(
    "LOCK_ROW_MISSING",
    `Lock row of ${scope} vanished while writing (was the central dataset recreated?)`,
  );
}

const pause = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.round((5 + Math.random() * 20) * 2 ** Math.min(attempt, 4))));

/**
 * Runs `fn` in a transaction holding the writer lock of (org, scope); retries it when it loses a race.
 * @param what the guarded items in the 409 message, e.g. `Prices of openai`
 * @throws {AppError} `WRITE_CONFLICT` after {@link WRITE_ATTEMPTS} lost races; whatever `fn` throws
 */
export async function lockedWrite<T>(
  at: LockTarget,
  org: string,
  scope: string,
  what: string,
  now: Date,
  fn: (tx: WarehouseTx) => Promise<T>,
): Promise<T> {
  const s = stateOf(at.warehouse);
  return await serially(s, `${org}\u0000${scope}`, async () => {
    for (let attempt = 1;; attempt++) {
      await ensureLockRow(at, s, org, scope, now);
      try {
        return await at.warehouse.transaction(async (tx) => {
          const n = await tx.execute(
            `UPDATE ${qualified(CENTRAL_DATASET, at.locks.table)} SET version = version + 1, updated_at = @now
             WHERE org_slug = @org_slug AND scope = @scope`,
            { org_slug: org, scope, now },
          );
          if (n === 0) throw lockRowMissing(scope);
          return await fn(tx);
        });
      } catch (e) {
        if (e instanceof AppError && e.code === "LOCK_ROW_MISSING" && attempt < WRITE_ATTEMPTS) {
          s.known.clear();
          continue;
        }
        if (findAppError(e)?.code !== "WRITE_CONFLICT") {
          if (!(e instanceof AppError) || DEPENDENCY_CODES.has(e.code)) s.known.clear();
          throw e;
        }
        if (attempt >= WRITE_ATTEMPTS) {
          throw new AppError(
            "WRITE_CONFLICT",
            `${what} of org "${org}" kept changing under concurrent writes (${attempt} attempts); retry the request`,
          );
        }
        await pause(attempt);
      }
    }
  });
}
