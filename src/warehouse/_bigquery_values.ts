/** Value mapping between the warehouse contract and the BigQuery REST API. */
import { Buffer } from "node:buffer";
import type { Column, TableSchema } from "../schema/table_schema.ts";
import { type Cell, formatDecimal, formatTimestamp, parseDecimal, type Scalar } from "./_rows.ts";
import type { QueryParams, Row } from "./warehouse.ts";

/** A REST `QueryParameter`. */
export interface QueryParameter {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string | null; arrayValues?: Array<{ value: string }> };
}

/** A REST `TableFieldSchema` (the part results use). */
export interface FieldSchema {
  name: string;
  type: string;
  mode?: string;
  fields?: FieldSchema[];
}

/** The REST table resource for a schema: fields, timePartitioning, clustering. */
export function tableResource(schema: TableSchema): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    description: schema.description,
    schema: {
      fields: schema.fields.map((f) => ({
        name: f.name,
        type: f.type,
        mode: f.mode,
        ...(f.description ? { description: f.description } : {}),
      })),
    },
  };
  if (schema.partitioning) {
    resource.timePartitioning = { type: schema.partitioning.type, field: schema.partitioning.field };
  }
  if (schema.clustering?.length) resource.clustering = { fields: [...schema.clustering] };
  return resource;
}

/**
 * A named parameter typed by its JS value: string STRING, integer INT64,
 * other number FLOAT64, boolean BOOL, Date TIMESTAMP, string[] ARRAY<STRING>,
 * null a NULL STRING.
 */
export function queryParameter(name: string, v: QueryParams[string]): QueryParameter {
  const scalar = (type: string, value: string | null): QueryParameter => ({
    name,
    parameterType: { type },
    parameterValue: { value },
  });
  if (v === null) return scalar("STRING", null);
  if (typeof v === "string") return scalar("STRING", v);
  if (typeof v === "boolean") return scalar("BOOL", String(v));
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`Query parameter "@${name}" is not a finite number`);
    return scalar(Number.isSafeInteger(v) ? "INT64" : "FLOAT64", String(v));
  }
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new Error(`Query parameter "@${name}" is an invalid Date`);
    return scalar("TIMESTAMP", v.toISOString());
  }
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) {
    return arrayParameter(name, "STRING", v);
  }
  throw new Error(`Query parameter "@${name}" must be a string, number, boolean, null, Date or string[]`);
}

/** An ARRAY<type> parameter. */
export function arrayParameter(name: string, type: string, values: readonly string[]): QueryParameter {
  return {
    name,
    parameterType: { type: "ARRAY", arrayType: { type } },
    parameterValue: { arrayValues: values.map((value) => ({ value })) },
  };
}

function jsonScalar(f: Column, v: Scalar): unknown {
  switch (f.type) {
    case "INT64": {
      const n = v as bigint;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case "NUMERIC":
      return formatDecimal(v as bigint);
    case "TIMESTAMP":
      return formatTimestamp(v as bigint);
    case "JSON":
      return JSON.parse(v as string);
    case "BYTES":
      return Buffer.from(v as Uint8Array).toString("base64");
    default:
      return v;
  }
}

/** Newline-delimited JSON for a load job, from canonical cells. */
export function toNdjson(fields: readonly Column[], cells: readonly Cell[][]): string {
  let out = "";
  for (const row of cells) {
    const obj: Record<string, unknown> = {};
    fields.forEach((f, i) => {
      const cell = row[i] ?? null;
      if (cell === null) return;
      obj[f.name] = Array.isArray(cell) ? cell.map((v) => jsonScalar(f, v)) : jsonScalar(f, cell);
    });
    out += JSON.stringify(obj) + "\n";
  }
  return out;
}

type RawCell = { v: unknown };

/** Converts raw REST rows (`{f: [{v}]}`) to JSON-friendly rows (see `Row`). */
export function parseRows(fields: readonly FieldSchema[], rows: ReadonlyArray<{ f: RawCell[] }>): Row[] {
  return rows.map((r) => parseRecord(fields, r.f));
}

function parseRecord(fields: readonly FieldSchema[], cells: readonly RawCell[]): Row {
  const row: Row = {};
  fields.forEach((f, i) => (row[f.name] = parseField(f, cells[i]?.v ?? null)));
  return row;
}

function parseField(f: FieldSchema, v: unknown): unknown {
  if (f.mode === "REPEATED") {
    return Array.isArray(v) ? (v as RawCell[]).map((item) => parseScalar(f, item.v)) : [];
  }
  return v === null || v === undefined ? null : parseScalar(f, v);
}

function parseScalar(f: FieldSchema, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (f.type) {
    case "INTEGER":
    case "INT64": {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : String(v);
    }
    case "FLOAT":
    case "FLOAT64":
      return Number(v);
    case "NUMERIC": {
      const scaled = parseDecimal(String(v));
      return scaled === null ? String(v) : formatDecimal(scaled);
    }
    case "BOOLEAN":
    case "BOOL":
      return v === true || v === "true";
    case "TIMESTAMP": {
      const s = String(v);
      const micros = /^-?\d+$/.test(s) ? BigInt(s) : BigInt(Math.round(Number(s) * 1e6));
      return formatTimestamp(micros);
    }
    case "JSON":
      return JSON.parse(String(v));
    case "RECORD":
    case "STRUCT":
      return parseRecord(f.fields ?? [], (v as { f: RawCell[] }).f);
    default:
      return v; // STRING, DATE, DATETIME, TIME, BYTES (base64), BIGNUMERIC, GEOGRAPHY: as sent
  }
}

/** A query job's options: standard SQL in `location`, with NAMED parameters when there are any. */
export function jobOptions(sql: string, location: string, parameters: unknown[]): Record<string, unknown> {
  const options: Record<string, unknown> = { query: sql, location, useLegacySql: false };
  if (parameters.length > 0) Object.assign(options, { parameterMode: "NAMED", queryParameters: parameters });
  return options;
}

/** A REST field type in the schema's spelling (tables.get answers legacy names, INTEGER for INT64), "[]" if REPEATED. */
export function restType(type: string, mode: string | undefined): string {
  const upper = type.toUpperCase();
  const name = ({ INTEGER: "INT64", FLOAT: "FLOAT64", BOOL: "BOOLEAN" } as Record<string, string>)[upper] ?? upper;
  return name + (mode === "REPEATED" ? "[]" : "");
}
