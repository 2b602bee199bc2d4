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
import { assertIdentifier, type Row } from "./warehouse.ts";

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

/** A schema's column converters, built once per schema object. */
interface CompiledSchema {
  readonly known: ReadonlySet<string>;
  readonly names: readonly string[];
  readonly convert: readonly ((value: unknown) => Cell)[];
}

const compiled = new WeakMap<TableSchema, CompiledSchema>();

function compile(schema: TableSchema): CompiledSchema {
  let c = compiled.get(schema);
  if (c === undefined) {
    const names = schema.fields.map((f) => f.name);
    c = { known: new Set(names), names, convert: schema.fields.map(cellConverter) };
    compiled.set(schema, c);
  }
  return c;
}

/**
 * Checks every row against the schema and returns canonical cells, one array per row. `offset` is the index of
 * the first row in the whole write (for messages when rows arrive in batches).
 * @throws {Error} naming the table, row index and column of the first problem
 */
export function normalizeRows(dataset: string, schema: TableSchema, rows: readonly Row[], offset = 0): Cell[][] {
  return normalize(dataset, schema, rows, offset, "rows");
}

/**
 * {@link normalizeRows} laid out by column: one array of cells per schema field, in field order (what a columnar
 * writer such as DuckDB's appender takes). Rows are checked in the same order, so errors are the same.
 */
export function normalizeColumns(dataset: string, schema: TableSchema, rows: readonly Row[], offset = 0): Cell[][] {
  return normalize(dataset, schema, rows, offset, "columns");
}

function normalize(
  dataset: string,
  schema: TableSchema,
  rows: readonly Row[],
  offset: number,
  layout: "rows" | "columns",
): Cell[][] {
  checkSchema(dataset, schema);
  const { known, names, convert } = compile(schema);
  const where = `"${dataset}.${schema.table}"`;
  const width = names.length;
  const byColumn = layout === "columns";
  const out: Cell[][] = byColumn ? names.map(() => new Array<Cell>(rows.length)) : new Array<Cell[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new Error(`Cannot write to ${where}: row ${offset + i} is not an object`);
    }
    for (const key in row) {
      if (!known.has(key) && Object.hasOwn(row, key)) {
        throw new Error(`Cannot write to ${where}: row ${offset + i} has unknown column "${key}"`);
      }
    }
    const cells = byColumn ? undefined : (out[i] = new Array<Cell>(width));
    for (let c = 0; c < width; c++) {
      let cell: Cell;
      try {
        cell = convert[c]!(row[names[c]!]);
      } catch (e) {
        throw new Error(`Cannot write to ${where}: row ${offset + i} column "${names[c]}" ${(e as Error).message}`);
      }
      if (cells) cells[c] = cell;
      else out[c]![i] = cell;
    }
  }
  return out;
}

/**
 * The converter of one column: `normalizeCell` with fast paths for the common JS types, and the last DATE or
 * TIMESTAMP string remembered (rows of one provider bucket share their day and times).
 */
function cellConverter(f: Column): (value: unknown) => Cell {
  if (f.mode === "REPEATED") return (v) => normalizeCell(f, v);
  const required = f.mode === "REQUIRED";
  const scalar = scalarConverter(f.type);
  return (v) => {
    if (v === null || v === undefined) {
      if (required) throw new Error(`is REQUIRED but missing`);
      return null;
    }
    return scalar(v);
  };
}

function scalarConverter(type: ColumnType): (v: unknown) => Scalar {
  switch (type) {
    case "STRING":
      return (v) => (typeof v === "string" ? v : toScalar(type, v));
    case "BOOLEAN":
      return (v) => (typeof v === "boolean" ? v : toScalar(type, v));
    case "INT64":
      return (v) => (typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : toScalar(type, v));
    case "DATE":
    case "TIMESTAMP": {
      let lastIn: string | undefined;
      let lastOut: Scalar = "";
      return (v) => {
        if (typeof v !== "string") return toScalar(type, v);
        if (v !== lastIn) {
          lastOut = toScalar(type, v);
          lastIn = v;
        }
        return lastOut;
      };
    }
    default:
      return (v) => toScalar(type, v);
  }
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

const PLAIN_DECIMAL = /^(-?)(\d{1,40})(?:\.(\d{1,9}))?$/;

/** Parses a decimal (plain or exponent notation) into an integer scaled by 1e9, rounding half away from zero. */
export function parseDecimal(text: string): bigint | null {
  // Fast path: plain decimals with at most 9 decimals (what the processors write) need no rounding.
  const plain = PLAIN_DECIMAL.exec(text);
  if (plain) {
    const scaled = BigInt(plain[2]! + (plain[3] ?? "").padEnd(NUMERIC_SCALE, "0"));
    return plain[1] ? -scaled : scaled;
  }
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
