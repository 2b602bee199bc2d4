/**
 * Row validation shared by both adapters: each row becomes an array of
 * canonical cells in schema field order, so every backend accepts and
 * refuses exactly the same rows.
 *
 * Canonical cells: STRING string; INT64 bigint; FLOAT64 number; NUMERIC
 * bigint scaled by 1e9; BOOLEAN boolean; DATE "YYYY-MM-DD"; TIMESTAMP bigint
 * microseconds since the epoch (UTC); JSON string (JSON text); BYTES
 * Uint8Array; REPEATED an array of those.
 */
import { Buffer } from "node:buffer";
import type { Column, ColumnType, TableSchema } from "../schema/table_schema.ts";
import { assertIdentifier, type DayRange, type Row } from "./warehouse.ts";

export type Scalar = string | number | bigint | boolean | Uint8Array;
export type Cell = Scalar | Scalar[] | null;

export const NUMERIC_SCALE = 9;
const NUMERIC_LIMIT = 10n ** 38n; // DECIMAL(38,9), BigQuery NUMERIC: 29 integer digits
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DAY_MS = 86_400_000;

/** Validates a table schema's identifiers (table, columns, partition field). */
export function checkSchema(dataset: string, schema: TableSchema): void {
  assertIdentifier(dataset, "dataset");
  assertIdentifier(schema.table, "table");
  for (const f of schema.fields) assertIdentifier(f.name, `column (table "${schema.table}")`);
  const p = schema.partitioning;
  if (p && !schema.fields.some((f) => f.name === p.field)) {
    throw new Error(`Invalid schema for "${dataset}.${schema.table}": partition field "${p.field}" is not a column`);
  }
}

/**
 * Checks every row against the schema and returns canonical cells.
 * @throws {Error} naming the table, row index and column of the first problem
 */
export function normalizeRows(dataset: string, schema: TableSchema, rows: readonly Row[]): Cell[][] {
  checkSchema(dataset, schema);
  const where = `"${dataset}.${schema.table}"`;
  const known = new Set(schema.fields.map((f) => f.name));
  return rows.map((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new Error(`Cannot write to ${where}: row ${i} is not an object`);
    }
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw new Error(`Cannot write to ${where}: row ${i} has unknown column "${key}"`);
    }
    return schema.fields.map((f) => {
      try {
        return normalizeCell(f, row[f.name]);
      } catch (e) {
        throw new Error(`Cannot write to ${where}: row ${i} column "${f.name}" ${(e as Error).message}`);
      }
    });
  });
}

function normalizeCell(f: Column, value: unknown): Cell {
  if (f.mode === "REPEATED") {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new Error(`expects an array of ${f.type}, got ${describe(value)}`);
    return value.map((v) => {
      if (v === null || v === undefined) throw new Error(`cannot hold null elements`);
      return toScalar(f.type, v);
    });
  }
  if (value === null || value === undefined) {
    if (f.mode === "REQUIRED") throw new Error(`is REQUIRED but missing`);
    return null;
  }
  return toScalar(f.type, value);
}

function toScalar(type: ColumnType, v: unknown): Scalar {
  const bad = () => new Error(`expects ${type}, got ${describe(v)}`);
  switch (type) {
    case "STRING":
      if (typeof v !== "string") throw bad();
      return v;
    case "INT64": {
      let n: bigint;
      if (typeof v === "bigint") n = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
      else if (typeof v === "string" && /^[+-]?\d{1,19}$/.test(v)) n = BigInt(v);
      else throw bad();
      if (n < INT64_MIN || n > INT64_MAX) throw new Error(`is out of the INT64 range`);
      return n;
    }
    case "FLOAT64":
      if (typeof v !== "number" || !Number.isFinite(v)) throw bad();
      return v;
    case "NUMERIC": {
      const scaled = typeof v === "string" || typeof v === "number" || typeof v === "bigint"
        ? parseDecimal(String(v))
        : null;
      if (scaled === null) throw bad();
      if (scaled >= NUMERIC_LIMIT || scaled <= -NUMERIC_LIMIT) throw new Error(`is out of the NUMERIC range`);
      return scaled;
    }
    case "BOOLEAN":
      if (typeof v !== "boolean") throw bad();
      return v;
    case "DATE": {
      const day = v instanceof Date ? isoDay(v.getTime()) : typeof v === "string" && isDay(v) ? v : null;
      if (day === null) throw bad();
      return day;
    }
    case "TIMESTAMP": {
      const micros = v instanceof Date ? dateMicros(v) : typeof v === "string" ? parseTimestamp(v) : null;
      if (micros === null) throw bad();
      return micros;
    }
    case "JSON": {
      let text: string | undefined;
      try {
        text = JSON.stringify(v);
      } catch {
        text = undefined;
      }
      if (text === undefined) throw bad();
      return text;
    }
    case "BYTES":
      if (v instanceof Uint8Array) return v;
      if (typeof v === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0) {
        return new Uint8Array(Buffer.from(v, "base64"));
      }
      throw bad();
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "an invalid Date" : "a Date";
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  return typeof v;
}

// ---- decimals ----

/** Parses a decimal (plain or exponent notation) into an integer scaled by 1e9, rounding half away from zero. */
export function parseDecimal(text: string): bigint | null {
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/.exec(text.trim());
  if (!m || (!m[2] && !m[3])) return null;
  const digits = (m[2] ?? "") + (m[3] ?? "");
  const exp = Number(m[4] ?? 0) - (m[3] ?? "").length + NUMERIC_SCALE; // value = digits * 10^exp / 1e9
  let scaled: bigint;
  if (exp >= 0) {
    if (exp > 60) return digits.replace(/0/g, "") === "" ? 0n : null;
    scaled = BigInt(digits) * 10n ** BigInt(exp);
  } else {
    const div = 10n ** BigInt(-exp);
    const whole = BigInt(digits);
    scaled = whole / div;
    if ((whole % div) * 2n >= div) scaled += 1n;
  }
  return m[1] === "-" ? -scaled : scaled;
}

/** Formats an integer scaled by 10^scale with exactly `scale` decimals, e.g. 1500000000n -> "1.500000000". */
export function formatDecimal(scaled: bigint, scale = NUMERIC_SCALE): string {
  const neg = scaled < 0n;
  const abs = (neg ? -scaled : scaled).toString().padStart(scale + 1, "0");
  const int = abs.slice(0, abs.length - scale);
  const frac = abs.slice(abs.length - scale);
  return `${neg ? "-" : ""}${int}${scale > 0 ? "." + frac : ""}`;
}

// ---- dates and timestamps ----

/** Whether `s` is a real calendar day written "YYYY-MM-DD". */
export function isDay(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  return isoDay(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) === s;
}

/** The UTC day "YYYY-MM-DD" of an epoch millisecond. */
export function isoDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** Days since 1970-01-01 of a "YYYY-MM-DD" day. */
export function epochDays(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

function dateMicros(d: Date): bigint | null {
  const ms = d.getTime();
  return Number.isNaN(ms) ? null : BigInt(ms) * 1000n;
}

/**
 * Parses "YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z|±HH[:]MM]" to epoch
 * microseconds; no zone means UTC (as in BigQuery).
 */
export function parseTimestamp(s: string): bigint | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)? ?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/
      .exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", sec = "0", frac = "", zone = "Z"] = m;
  if (!isDay(`${y}-${mo}-${d}`) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return null;
  let offsetMin = 0;
  if (zone !== "Z" && zone !== "z" && zone !== "UTC") {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMin = (z[1] === "-" ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) -
    offsetMin * 60_000;
  return BigInt(ms) * 1000n + BigInt(frac.padEnd(6, "0").slice(0, 6));
}

/** Formats epoch microseconds as an ISO string: milliseconds always, microseconds when non-zero. */
export function formatTimestamp(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = micros - ms * 1000n;
  const iso = new Date(Number(ms)).toISOString();
  return sub === 0n ? iso : `${iso.slice(0, -1)}${sub.toString().padStart(3, "0")}Z`;
}

// ---- partitions ----

/** The partition column of a table, or an error explaining it has none. */
export function partitionColumn(dataset: string, schema: TableSchema): Column {
  const p = schema.partitioning;
  const col = p && schema.fields.find((f) => f.name === p.field);
  if (!p || !col) throw new Error(`Cannot replace partitions of "${dataset}.${schema.table}": it has no partitioning`);
  if ((col.type !== "DATE" && col.type !== "TIMESTAMP") || col.mode === "REPEATED") {
    throw new Error(
      `Cannot replace partitions of "${dataset}.${schema.table}": "${col.name}" is not a DATE or TIMESTAMP`,
    );
  }
  return col;
}

/** The UTC day of a canonical DATE or TIMESTAMP cell. */
export function cellDay(cell: Cell): string | null {
  if (typeof cell === "string") return cell;
  if (typeof cell === "bigint") return isoDay(Number(cell / 1000n - (cell % 1000n < 0n ? 1n : 0n)));
  return null;
}

/**
 * Checks the range (real days, from <= to, whole months for MONTH
 * partitioning) and returns every day it holds.
 */
export function rangeDays(dataset: string, schema: TableSchema, range: DayRange): string[] {
  const where = `"${dataset}.${schema.table}"`;
  if (!range || !isDay(range.from) || !isDay(range.to) || range.from > range.to) {
    throw new Error(`Cannot replace partitions of ${where}: range must be two "YYYY-MM-DD" days with from <= to`);
  }
  if (schema.partitioning?.type === "MONTH") {
    const next = isoDay(Date.parse(`${range.to}T00:00:00Z`) + DAY_MS);
    if (!range.from.endsWith("-01") || !next.endsWith("-01")) {
      throw new Error(
        `Cannot replace partitions of ${where}: it is partitioned by MONTH, so the range must cover whole months`,
      );
    }
  }
  const days: string[] = [];
  for (let ms = Date.parse(`${range.from}T00:00:00Z`); isoDay(ms) <= range.to; ms += DAY_MS) days.push(isoDay(ms));
  return days;
}

/**
 * Validates rows for a partition replace: schema checks plus every row's
 * partition day inside the range. Returns canonical cells and the days.
 */
export function normalizeForReplace(
  dataset: string,
  schema: TableSchema,
  range: DayRange,
  rows: readonly Row[],
): { cells: Cell[][]; days: string[]; column: number } {
  checkSchema(dataset, schema);
  const col = partitionColumn(dataset, schema);
  const days = rangeDays(dataset, schema, range);
  const cells = normalizeRows(dataset, schema, rows);
  const column = schema.fields.indexOf(col);
  cells.forEach((row, i) => {
    const day = cellDay(row[column] ?? null);
    if (day === null || day < range.from || day > range.to) {
      throw new Error(
        `Cannot replace partitions of "${dataset}.${schema.table}": row ${i} has ${col.name} ${
          day ?? "null"
        } outside ${range.from}..${range.to}`,
      );
    }
  });
  return { cells, days, column };
}
