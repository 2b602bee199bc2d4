/**
 * An effective-dated, per-org central table (model prices, subscription plans): each item (e.g. one model of one
 * provider) has versions that apply from `effective_from` (inclusive) to `effective_to` (exclusive, null = open).
 * Versions of one item never overlap, also under concurrent writers: every write holds the writer lock of its
 * (org, scope) ({@link lockedWrite}) and checks for overlaps inside that transaction. Every statement filters by
 * `org_slug = @org_slug`; values travel as parameters; column names come from the table schema only.
 */
import { type Day, parseIsoDay } from "../time/day.ts";
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { qualified, type QueryParams, type Row, type Warehouse, type WarehouseTx } from "../warehouse/warehouse.ts";
import { normaliseDecimal } from "./decimal.ts";
import { AppError } from "../errors/mod.ts";
import { lockedWrite } from "./lock.ts";

/** Values of the identifying columns of one item, e.g. `{provider: "openai", model_id: "gpt-4o"}`. */
export type ItemKey = Readonly<Record<string, string>>;

export interface DatedTable {
  readonly schema: TableSchema;
  /** Columns that, with org_slug, identify an item; `effective_from` tells its versions apart. */
  readonly keys: readonly string[];
  /**
   * The keys whose values name the writer lock (with the table): writes of items that differ in these never wait
   * on each other. A subset of `keys`; every write and seed names all of them.
   */
  readonly lockKeys: readonly string[];
  /** Error code of an overlap between versions, e.g. `PRICE_OVERLAP`. */
  readonly overlapCode: string;
  /** Error code of a new version starting the same day as an existing one, e.g. `PRICE_EXISTS`. */
  readonly existsCode: string;
  /** The item in messages, e.g. `Model "gpt-4o" of openai`. */
  describe(key: ItemKey): string;
}

export interface DateRange {
  readonly effective_from: string;
  readonly effective_to: string | null;
}

/** Whether two `[from, to)` day ranges share a day (a null end is open). */
export function overlaps(a: DateRange, b: DateRange): boolean {
  return (b.effective_to === null || day(a.effective_from) < day(b.effective_to)) &&
    (a.effective_to === null || day(b.effective_from) < day(a.effective_to));
}

/** A stored or requested `YYYY-MM-DD` as a {@link Day}, so ranges compare as days, never as strings. */
export function day(text: string): Day {
  return parseIsoDay(text, "effective_from");
}

/**
 * What adding `added` to an item's versions does: the open version that starts earlier is closed at
 * `added.effective_from`; any other overlap is a conflict.
 */
export function planAdd<R extends DateRange>(existing: readonly R[], added: DateRange): { close?: R; conflict?: R } {
  const close = existing.find((r) => r.effective_to === null && day(r.effective_from) < day(added.effective_from));
  const conflict = existing.find((r) =>
    overlaps(r === close ? { effective_from: r.effective_from, effective_to: added.effective_from } : r, added)
  );
  return conflict ? { conflict } : close ? { close } : {};
}

const SYSTEM = new Set(["org_slug", "source", "created_at", "updated_at"]);
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

/**
 * The writer lock guarding the items matching `key`: the table, then the values of `lockKeys`
 * (`org_model_pricing/openai`).
 * @throws {Error} when `key` misses one of the lock keys (a programming error)
 */
export function lockScope(t: DatedTable, key: ItemKey): string {
  return [
    t.schema.table,
    ...t.lockKeys.map((k) => {
      const v = key[k];
      if (v === undefined) throw new Error(`A write of ${t.schema.table} must name "${k}"`);
      return v;
    }),
  ].join("/");
}

/** Runs `fn` as one transaction holding the writer lock of the items matching `key`. */
export function withItemLock<T>(
  wh: Warehouse,
  t: DatedTable,
  org: string,
  key: ItemKey,
  now: Date,
  fn: (tx: WarehouseTx) => Promise<T>,
): Promise<T> {
  const scope = lockScope(t, key);
  return lockedWrite(wh, org, scope, `The rows of ${scope}`, now, fn);
}

/** A row as the API shows it: no org_slug, amounts as short decimal strings. */
function present(t: DatedTable, row: Row): Row {
  const out: Row = {};
  for (const f of t.schema.fields) {
    if (f.name === "org_slug") continue;
    const v = row[f.name] ?? null;
    out[f.name] = f.type === "NUMERIC" && typeof v === "string" ? normaliseDecimal(v) : v;
  }
  return out;
}

/** Every column of the table: `values` for the item's columns (missing ones null) plus org, source and times. */
export function fullRow(t: DatedTable, org: string, values: Row, source: "seed" | "user", now: Date): Row {
  const system: Row = { org_slug: org, source, created_at: now, updated_at: now };
  return Object.fromEntries(
    t.schema.fields.map((f) => [f.name, SYSTEM.has(f.name) ? system[f.name] : values[f.name] ?? null]),
  );
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

function checkRange(r: DateRange): void {
  if (r.effective_to !== null && day(r.effective_to) <= day(r.effective_from)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "effective_to": must be after effective_from ("${r.effective_from}")`,
    );
  }
}

const overlapError = (t: DatedTable, key: ItemKey, added: DateRange, other: DateRange) =>
  other.effective_from === added.effective_from
    ? new AppError(
      t.existsCode,
      `${t.describe(key)} already has a version from ${other.effective_from}; change it with PUT or choose another ` +
        `effective_from`,
    )
    : new AppError(
      t.overlapCode,
      `${t.describe(key)} already has a version from ${other.effective_from} to ${other.effective_to ?? "open end"} ` +
        `that overlaps ${added.effective_from} to ${added.effective_to ?? "open end"}`,
    );

/** The org's versions matching `filter` (any subset of the keys), optionally only those in force on `asOf`. */
export async function listVersions(
  wh: Warehouse,
  t: DatedTable,
  org: string,
  filter: ItemKey,
  asOf?: string,
): Promise<Row[]> {
  const w = keyWhere(t, filter, org);
  const rows = await wh.query(
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
 * @throws {AppError} VALIDATION_ERROR when effective_to is not after effective_from, the table's overlap code on any other overlap
 */
export async function addVersion(
  wh: Warehouse,
  t: DatedTable,
  org: string,
  key: ItemKey,
  values: Row & DateRange,
  now: Date,
): Promise<{ row: Row; closed: DateRange | null }> {
  checkRange(values);
  return await withItemLock(wh, t, org, key, now, async (tx) => {
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
  wh: Warehouse,
  t: DatedTable,
  org: string,
  key: ItemKey,
  patch: Row,
  now: Date,
): Promise<Row> {
  return await withItemLock(wh, t, org, key, now, async (tx) => {
    const all = await versions(tx, t, org, key);
    const target = all.find((r) => r.effective_to === null) ?? all.at(-1);
    if (!target) throw new AppError("NOT_FOUND", `${t.describe(key)} has no entry for org "${org}"`);
    const merged = { ...target, ...patch } as Row & DateRange;
    checkRange(merged);
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
export async function deleteItem(wh: Warehouse, t: DatedTable, org: string, key: ItemKey, now: Date): Promise<number> {
  return await withItemLock(wh, t, org, key, now, (tx) => deleteVersions(tx, t, org, key));
}

/**
 * Deletes every version of the items matching `filter` (any subset of the keys) and returns how many rows went.
 * Inside a transaction that holds the writer lock ({@link withItemLock}); routes call {@link deleteItem}.
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
