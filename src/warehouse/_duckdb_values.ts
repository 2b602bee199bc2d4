/** Value mapping between the warehouse contract and DuckDB: DDL types, appender chunks, parameters, results. */
import { Buffer } from "node:buffer";
import {
  BIGINT,
  blobValue,
  BOOLEAN,
  createDuckDBValueConverter,
  dateValue,
  decimalValue,
  DOUBLE,
  type DuckDBBlobValue,
  type DuckDBDataChunk,
  type DuckDBTimestampTZValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  LIST,
  listValue,
  timestampTZValue,
  VARCHAR,
} from "@duckdb/node-api";
import * as conv from "@duckdb/node-api";
import type { Column, ColumnType } from "../schema/table_schema.ts";
import { type Cell, epochDays, formatTimestamp, type Scalar } from "./_rows.ts";
import type { QueryParams } from "./warehouse.ts";

const DDL_TYPES: Record<ColumnType, string> = {
  STRING: "VARCHAR",
  INT64: "BIGINT",
  FLOAT64: "DOUBLE",
  NUMERIC: "DECIMAL(38,9)",
  BOOLEAN: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMPTZ",
  JSON: "JSON",
  BYTES: "BLOB",
};

/** The type of a schema column as DuckDB's catalog (`pragma_table_info`) spells it, e.g. "TIMESTAMP WITH TIME ZONE". */
export function catalogType(f: Column): string {
  const base = f.type === "TIMESTAMP" ? "TIMESTAMP WITH TIME ZONE" : DDL_TYPES[f.type];
  return base + (f.mode === "REPEATED" ? "[]" : "");
}

/** The column definition for CREATE TABLE (the name is a validated identifier). */
export function columnDdl(f: Column): string {
  const type = DDL_TYPES[f.type] + (f.mode === "REPEATED" ? "[]" : "");
  return `"${f.name}" ${type}${f.mode === "REQUIRED" ? " NOT NULL" : ""}`;
}

function scalarValue(type: ColumnType, v: Scalar): DuckDBValue {
  switch (type) {
    case "NUMERIC":
      return decimalValue(v as bigint, 38, 9);
    case "DATE":
      return dateValue(epochDays(v as string));
    case "TIMESTAMP":
      return timestampTZValue(v as bigint);
    case "BYTES":
      return blobValue(v as Uint8Array);
    default:
      return v as DuckDBValue;
  }
}

/** Converts one canonical cell to the DuckDB value the appender expects. */
function cellValue(f: Column, cell: Cell): DuckDBValue {
  if (cell === null) return null;
  if (Array.isArray(cell)) return listValue(cell.map((v) => scalarValue(f.type, v)));
  return scalarValue(f.type, cell);
}

/**
 * Fills `chunk` (created with the table's column types) with rows [start, start + count) of `columns`, canonical
 * cells laid out by column (`normalizeColumns`).
 */
export function fillChunk(
  chunk: DuckDBDataChunk,
  fields: readonly Column[],
  columns: readonly Cell[][],
  start: number,
  count: number,
): void {
  fields.forEach((f, c) => {
    const cells = columns[c]!;
    const part = start === 0 && count === cells.length ? cells : cells.slice(start, start + count);
    chunk.setColumnValues(
      c,
      PASS_THROUGH.has(f.type) && f.mode !== "REPEATED" ? part as DuckDBValue[] : part.map(valueWriter(f)),
    );
  });
}

/** Types whose canonical cell is already the value the appender takes. */
const PASS_THROUGH: ReadonlySet<ColumnType> = new Set(["STRING", "INT64", "FLOAT64", "BOOLEAN", "JSON"]);

/**
 * `cellValue` for one column, specialised by type: plain JS values pass through, and the last DATE or TIMESTAMP
 * value is reused while the cells repeat it (rows of one bucket share their day and times).
 */
function valueWriter(f: Column): (cell: Cell) => DuckDBValue {
  if (f.mode === "REPEATED") return (cell) => cellValue(f, cell);
  switch (f.type) {
    case "DATE":
    case "TIMESTAMP": {
      let last: Cell = null;
      let value: DuckDBValue = null;
      return (cell) => {
        if (cell === null) return null;
        if (cell !== last) {
          value = scalarValue(f.type, cell as Scalar);
          last = cell;
        }
        return value;
      };
    }
    case "NUMERIC":
    case "BYTES":
      return (cell) => (cell === null ? null : scalarValue(f.type, cell as Scalar));
    default:
      return (cell) => cell as DuckDBValue;
  }
}

/** Binds query parameters by their JS type (as BigQuery does). */
export function paramValues(
  entries: ReadonlyArray<[string, QueryParams[string]]>,
): { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType | undefined> } {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType | undefined> = {};
  for (const [name, v] of entries) {
    if (v === null) {
      values[name] = null;
    } else if (typeof v === "string") {
      [values[name], types[name]] = [v, VARCHAR];
    } else if (typeof v === "boolean") {
      [values[name], types[name]] = [v, BOOLEAN];
    } else if (typeof v === "number") {
      if (Number.isSafeInteger(v)) [values[name], types[name]] = [BigInt(v), BIGINT];
      else if (Number.isFinite(v)) [values[name], types[name]] = [v, DOUBLE];
      else throw new Error(`Query parameter "@${name}" is not a finite number`);
    } else if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new Error(`Query parameter "@${name}" is an invalid Date`);
      [values[name], types[name]] = [timestampTZValue(BigInt(v.getTime()) * 1000n), conv.TIMESTAMPTZ];
    } else if (Array.isArray(v) && v.every((s) => typeof s === "string")) {
      [values[name], types[name]] = [listValue(v), LIST(VARCHAR)];
    } else {
      throw new Error(`Query parameter "@${name}" must be a string, number, boolean, null, Date or string[]`);
    }
  }
  return { values, types };
}

function safeInteger(value: DuckDBValue): number | string {
  const n = value as bigint;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

const asString: DuckDBValueConverter<unknown> = (v) => String(v);
const integer: DuckDBValueConverter<unknown> = (v) => safeInteger(v);
const timestamp: DuckDBValueConverter<unknown> = (v) => formatTimestamp((v as DuckDBTimestampTZValue).micros);
const fromDate: DuckDBValueConverter<unknown> = (v, t) => {
  const d = t.typeId === DuckDBTypeId.TIMESTAMP_S
    ? conv.dateFromTimestampSecondsValue(v)
    : t.typeId === DuckDBTypeId.TIMESTAMP_MS
    ? conv.dateFromTimestampMillisecondsValue(v)
    : conv.dateFromTimestampNanosecondsValue(v);
  return d.toISOString();
};

/** Per type converters for results (types not listed are refused). */
const RESULT_CONVERTERS: Partial<Record<DuckDBTypeId, DuckDBValueConverter<unknown>>> = {
  [DuckDBTypeId.BOOLEAN]: conv.booleanFromValue,
  [DuckDBTypeId.TINYINT]: conv.numberFromValue,
  [DuckDBTypeId.SMALLINT]: conv.numberFromValue,
  [DuckDBTypeId.INTEGER]: conv.numberFromValue,
  [DuckDBTypeId.UTINYINT]: conv.numberFromValue,
  [DuckDBTypeId.USMALLINT]: conv.numberFromValue,
  [DuckDBTypeId.UINTEGER]: conv.numberFromValue,
  [DuckDBTypeId.BIGINT]: integer,
  [DuckDBTypeId.UBIGINT]: integer,
  [DuckDBTypeId.HUGEINT]: integer,
  [DuckDBTypeId.UHUGEINT]: integer,
  [DuckDBTypeId.BIGNUM]: integer,
  [DuckDBTypeId.FLOAT]: conv.numberFromValue,
  [DuckDBTypeId.DOUBLE]: conv.numberFromValue,
  [DuckDBTypeId.DECIMAL]: asString,
  [DuckDBTypeId.VARCHAR]: (v, t) => (t.alias === "JSON" ? JSON.parse(v as string) : v),
  [DuckDBTypeId.DATE]: asString,
  [DuckDBTypeId.TIME]: asString,
  [DuckDBTypeId.TIME_TZ]: asString,
  [DuckDBTypeId.TIME_NS]: asString,
  [DuckDBTypeId.TIMESTAMP]: timestamp,
  [DuckDBTypeId.TIMESTAMP_TZ]: timestamp,
  [DuckDBTypeId.TIMESTAMP_S]: fromDate,
  [DuckDBTypeId.TIMESTAMP_MS]: fromDate,
  [DuckDBTypeId.TIMESTAMP_NS]: fromDate,
  [DuckDBTypeId.INTERVAL]: conv.jsonObjectFromIntervalValue,
  [DuckDBTypeId.BLOB]: (v) => Buffer.from((v as DuckDBBlobValue).bytes).toString("base64"),
  [DuckDBTypeId.UUID]: asString,
  [DuckDBTypeId.ENUM]: asString,
  [DuckDBTypeId.BIT]: asString,
  [DuckDBTypeId.GEOMETRY]: asString,
  [DuckDBTypeId.LIST]: conv.arrayFromListValue,
  [DuckDBTypeId.ARRAY]: conv.arrayFromArrayValue,
  [DuckDBTypeId.STRUCT]: conv.objectFromStructValue,
  [DuckDBTypeId.MAP]: conv.objectArrayFromMapValue,
  [DuckDBTypeId.UNION]: conv.objectFromUnionValue,
  [DuckDBTypeId.VARIANT]: conv.fromVariantValue,
  [DuckDBTypeId.SQLNULL]: conv.nullConverter,
};

/** Result converter: JSON-friendly values (see `Row` in warehouse.ts). */
export const resultConverter: DuckDBValueConverter<unknown> = createDuckDBValueConverter<unknown>(
  RESULT_CONVERTERS as Record<DuckDBTypeId, DuckDBValueConverter<unknown>>,
);
