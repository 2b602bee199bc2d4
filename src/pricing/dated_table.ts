/**
 * An effective-dated, per-org central table (model prices, subscription plans): each item (e.g. one model of one
 * provider) has versions that apply from `effective_from` (inclusive) to `effective_to` (exclusive, null = open).
 * Versions of one item never overlap. This module holds the table's definition and the pure rules (overlaps,
 * what adding a version does, the writer lock's scope, the refusals); the reads and writes, under the writer lock,
 * are the price store's (src/central/prices.ts).
 */
import { type Day, parseIsoDay } from "../time/day.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import type { Row } from "../warehouse/warehouse.ts";
import { normaliseDecimal } from "./decimal.ts";
import { AppError } from "../errors/mod.ts";

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
  /** Refuses a version whose values do not fit together (after defaults and a patch are applied), if any rule. */
  checkRow?(row: Row): void;
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

/** Columns the store fills itself, never taken from a request. */
export const SYSTEM = new Set(["org_slug", "source", "created_at", "updated_at"]);

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

/** A row as the API shows it: no org_slug, amounts as short decimal strings. */
export function present(t: DatedTable, row: Row): Row {
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

/** @throws {AppError} VALIDATION_ERROR when effective_to is not after effective_from */
export function checkRange(r: DateRange): void {
  if (r.effective_to !== null && day(r.effective_to) <= day(r.effective_from)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "effective_to": must be after effective_from ("${r.effective_from}")`,
    );
  }
}

/** The refusal of `added` overlapping `other`: 409 exists (same start) or overlap. */
export const overlapError = (t: DatedTable, key: ItemKey, added: DateRange, other: DateRange) =>
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
