/**
 * Reads and writes of an effective-dated central table ({@link DatedTable}: model prices, subscription plans).
 * Versions of one item never overlap, also under concurrent writers: every write holds the writer lock of its
 * (org, scope) ({@link lockedWrite}) and checks for overlaps inside that transaction. Every statement filters by
 * `org_slug = @org_slug`; values travel as parameters; column names come from the table schema only.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import { qualified, type QueryParams, type Row, type WarehouseTx } from "../warehouse/warehouse.ts";
import {
  checkRange,
  type DatedTable,
  type DateRange,
  fullRow,
  type ItemKey,
  lockScope,
  overlapError,
  overlaps,
  planAdd,
  present,
  SYSTEM,
} from "../pricing/dated_table.ts";
import { AppError } from "../errors/mod.ts";
import { lockedWrite, type LockTarget } from "./_lock.ts";

/** The casts a parameter of a column type gets in SQL. */
const CASTS: Partial<Record<string, string>> = { NUMERIC: "NUMERIC(38, 9)", DATE: "DATE", INT64: "INT64" };

const tableName = (t: DatedTable) => qualified(CENTRAL_DATASET, t.schema.table);
const outColumns = (t: DatedTable) => t.schema.fields.filter((f) => f.name !== "org_slug").map((f) => f.name);

function keyWhere(t: DatedTable, key: ItemKey, org: string): { sql: string; params: Record<string, string> } {
  const names = t.keys.filter((k) => key[k] !== undefined);
  return {
    sql: ["org_slug = @org_slug", ...names.map((k) => `${k} = @key_${k}`)].join(" AND "),
    params: { org_slug: org, ...Object.fromEntries(names.map((k) => [`key_${k}`, key[k]!])) },
  };
}

/** Runs `fn` as one transaction holding the writer lock of the items matching `key`. */
export function withItemLock<T>(
  at: LockTarget,
  t: DatedTable,
  org: string,
  key: ItemKey,
  now: Date,
  fn: (tx: WarehouseTx) => Promise<T>,
): Promise<T> {
  const scope = lockScope(t, key);
  return lockedWrite(at, org, scope, `The rows of ${scope}`, now, fn);
}

async function versions(db: WarehouseTx, t: DatedTable, org: string, key: ItemKey): Promise<(Row & DateRange)[]> {
  const w = keyWhere(t, key, org);
  return await db.query<Row & DateRange>(
    `SELECT ${outColumns(t).join(", ")} FROM ${tableName(t)} WHERE ${w.sql} ORDER BY effective_from`,
    w.params,
  );
}

async function version(db: WarehouseTx, t: DatedTable, org: string, key: ItemKey, from: string): Promise<Row> {
  const found = (await versions(db, t, org, key)).find((r) => r.effective_from === from);
  if (!found) throw new Error(`${t.describe(key)} from ${from} vanished while being written`);
  return present(t, found);
}

/** The org's versions matching `filter` (any subset of the keys), optionally only those in force on `asOf`. */
export async function listVersions(
  db: WarehouseTx,
  t: DatedTable,
  org: string,
  filter: ItemKey,
  asOf?: string,
): Promise<Row[]> {
  const w = keyWhere(t, filter, org);
  const rows = await db.query(
    `SELECT ${outColumns(t).join(", ")} FROM ${tableName(t)}
     WHERE ${w.sql} AND (@as_of IS NULL OR (effective_from <= CAST(@as_of AS DATE)
       AND (effective_to IS NULL OR effective_to > CAST(@as_of AS DATE))))
     ORDER BY ${[...t.keys, "effective_from"].join(", ")}`,
    { ...w.params, as_of: asOf ?? null },
  );
  return rows.map((r) => present(t, r));
}

/**
 * Adds a version (source `user`). An open version that starts earlier is closed at the new `effective_from`.
 * @throws {AppError} VALIDATION_ERROR when effective_to is not after effective_from, the overlap code on any other overlap
 */
export async function addVersion(
  at: LockTarget,
  t: DatedTable,
  org: string,
  key: ItemKey,
  values: Row & DateRange,
  now: Date,
): Promise<{ row: Row; closed: DateRange | null }> {
  checkRange(values);
  t.checkRow?.(values);
  return await withItemLock(at, t, org, key, now, async (tx) => {
    const plan = planAdd(await versions(tx, t, org, key), values);
    if (plan.conflict) throw overlapError(t, key, values, plan.conflict);
    const w = keyWhere(t, key, org);
    if (plan.close) {
      await tx.execute(
        `UPDATE ${tableName(t)} SET effective_to = CAST(@new_from AS DATE), updated_at = @now
         WHERE ${w.sql} AND effective_from = CAST(@old_from AS DATE) AND effective_to IS NULL`,
        { ...w.params, new_from: values.effective_from, old_from: plan.close.effective_from, now },
      );
    }
    await tx.insertRows(CENTRAL_DATASET, t.schema, [fullRow(t, org, { ...values, ...key }, "user", now)]);
    const closed = plan.close
      ? { effective_from: plan.close.effective_from, effective_to: values.effective_from }
      : null;
    return { row: await version(tx, t, org, key, values.effective_from), closed };
  });
}

/**
 * Changes the current version of an item (the open one, else the latest) with `patch`; its source becomes `user`.
 * @throws {AppError} NOT_FOUND when the item has no version, VALIDATION_ERROR on a bad range, the overlap code when it would overlap another
 */
export async function updateVersion(
  at: LockTarget,
  t: DatedTable,
  org: string,
  key: ItemKey,
  patch: Row,
  now: Date,
): Promise<Row> {
  return await withItemLock(at, t, org, key, now, async (tx) => {
    const all = await versions(tx, t, org, key);
    const target = all.find((r) => r.effective_to === null) ?? all.at(-1);
    if (!target) throw new AppError("NOT_FOUND", `${t.describe(key)} has no entry for org "${org}"`);
    const merged = { ...target, ...patch } as Row & DateRange;
    checkRange(merged);
    t.checkRow?.(merged);
    const other = all.find((r) => r !== target && overlaps(r, merged));
    if (other) throw overlapError(t, key, merged, other);
    const w = keyWhere(t, key, org);
    const fields = t.schema.fields.filter((f) => !SYSTEM.has(f.name) && !t.keys.includes(f.name));
    const sets = fields.map((f) => {
      const cast = CASTS[f.type];
      return `${f.name} = ${cast ? `CAST(@v_${f.name} AS ${cast})` : `@v_${f.name}`}`;
    });
    const values = Object.fromEntries(
      fields.map((f) => [`v_${f.name}`, (merged[f.name] ?? null) as QueryParams[string]]),
    );
    await tx.execute(
      `UPDATE ${tableName(t)} SET ${sets.join(", ")}, source = 'user', updated_at = @now
       WHERE ${w.sql} AND effective_from = CAST(@old_from AS DATE)`,
      { ...w.params, ...values, old_from: target.effective_from, now },
    );
    return await version(tx, t, org, key, merged.effective_from);
  });
}

/**
 * Deletes every version of one item under its writer lock and returns how many rows went (0: it had none).
 * @throws {AppError} `WRITE_CONFLICT` when concurrent writers kept winning
 */
export async function deleteItem(
  at: LockTarget,
  t: DatedTable,
  org: string,
  key: ItemKey,
  now: Date,
): Promise<number> {
  return await withItemLock(at, t, org, key, now, (tx) => deleteVersions(tx, t, org, key));
}

/**
 * Deletes every version of the items matching `filter` (any subset of the keys) and returns how many rows went.
 * Inside a transaction that holds the writer lock ({@link withItemLock}).
 */
export async function deleteVersions(db: WarehouseTx, t: DatedTable, org: string, filter: ItemKey): Promise<number> {
  const w = keyWhere(t, filter, org);
  return await db.execute(`DELETE FROM ${tableName(t)} WHERE ${w.sql}`, w.params);
}

/** How many rows the org has among the items matching `filter`. */
export async function countVersions(db: WarehouseTx, t: DatedTable, org: string, filter: ItemKey): Promise<number> {
  const w = keyWhere(t, filter, org);
  const [r] = await db.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM ${tableName(t)} WHERE ${w.sql}`,
    w.params,
  );
  return Number(r?.n ?? 0);
}
