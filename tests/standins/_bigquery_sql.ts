/**
 * What the BigQuery stand-in translates between BigQuery's REST API and the DuckDB engine behind it:
 * GoogleSQL text to DuckDB SQL (backtick identifiers, `@name` parameters, `IN UNNEST(@list)`), REST
 * `queryParameters` to typed DuckDB bindings, REST table resources to a {@link TableSchema}, and DuckDB results to
 * REST `schema.fields` and `rows` (`{f: [{v}]}`) in BigQuery's encodings: every scalar a string, INT64 decimal
 * digits, BOOL "true"/"false", TIMESTAMP microseconds since the epoch (the client asks with
 * `formatOptions.useInt64Timestamp`; otherwise float seconds), NUMERIC without trailing zeros, BYTES base64,
 * REPEATED as `[{v}]`.
 */
import { Buffer } from "node:buffer";
import {
  BIGINT,
  BLOB,
  blobValue,
  BOOLEAN,
  DATE,
  dateValue,
  DECIMAL,
  decimalValue,
  DOUBLE,
  type DuckDBBlobValue,
  type DuckDBListValue,
  type DuckDBTimestampTZValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  LIST,
  listValue,
  TIMESTAMPTZ,
  timestampTZValue,
  VARCHAR,
} from "@duckdb/node-api";
import type { Column, ColumnType, TableSchema } from "../../src/schema/table_schema.ts";
import { epochDays, parseDecimal, parseTimestamp } from "../../src/warehouse/_rows.ts";
import { scanParams } from "../../src/warehouse/_sql.ts";

type Json = Record<string, unknown>;

/** A failed job: BigQuery's message, its error reason and the HTTP status jobs.insert answers with. */
export class BigQueryJobError extends Error {
  constructor(message: string, readonly reason = "invalidQuery", readonly status = 400) {
    super(message);
  }
}

/** GoogleSQL type names (and legacy aliases) of table resources to the warehouse's column types. */
const TYPE_ALIASES: Record<string, ColumnType> = {
  STRING: "STRING",
  INT64: "INT64",
  INTEGER: "INT64",
  FLOAT64: "FLOAT64",
  FLOAT: "FLOAT64",
  NUMERIC: "NUMERIC",
  BOOLEAN: "BOOLEAN",
  BOOL: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMP",
  JSON: "JSON",
  BYTES: "BYTES",
};

/** The schema of a REST table resource (fields, timePartitioning). */
export function schemaOfResource(table: string, resource: Json): TableSchema {
  const fields = (((resource.schema ?? {}) as Json).fields ?? []) as Array<
    { name: string; type: string; mode?: string }
  >;
  const columns: Column[] = fields.map((f) => {
    const type = TYPE_ALIASES[String(f.type).toUpperCase()];
    if (!type) throw new BigQueryJobError(`Unsupported field type ${f.type} of field ${f.name}`, "invalid");
    return { name: f.name, type, mode: (f.mode ?? "NULLABLE") as Column["mode"] };
  });
  const tp = resource.timePartitioning as { type?: string; field?: string } | undefined;
  return {
    table,
    description: String(resource.description ?? ""),
    fields: columns,
    ...(tp?.field ? { partitioning: { field: tp.field, type: tp.type === "MONTH" ? "MONTH" : "DAY" } } : {}),
  };
}

/**
 * A tables.patch of a table's schema, checked as BigQuery documents schema changes ("Modifying table schemas"):
 * the new field list keeps every existing field with its type; a mode may only be relaxed (REQUIRED to NULLABLE);
 * fields it adds must be NULLABLE or REPEATED. Returns the table's fields in column order (existing ones, then the
 * added ones, which BigQuery appends), the added fields and the names of the relaxed ones.
 * @throws {BigQueryJobError} "invalid" with BigQuery's kind of message when the patch breaks a rule
 */
export function schemaPatch(
  tableName: string,
  old: TableSchema,
  next: TableSchema,
): { fields: Column[]; added: Column[]; relaxed: string[] } {
  const invalid = (why: string) =>
    new BigQueryJobError(`Provided Schema does not match Table ${tableName}. ${why}`, "invalid");
  const byName = new Map(next.fields.map((f) => [f.name, f]));
  const relaxed: string[] = [];
  const fields = old.fields.map((f) => {
    const n = byName.get(f.name);
    if (!n) throw invalid(`Field ${f.name} is missing in new schema.`);
    if (n.type !== f.type || (n.mode === "REPEATED") !== (f.mode === "REPEATED")) {
      throw invalid(`Field ${f.name} has changed type from ${f.type} to ${n.type}.`);
    }
    if (n.mode !== f.mode) {
      if (!(f.mode === "REQUIRED" && n.mode === "NULLABLE")) {
        throw invalid(`Field ${f.name} has changed mode from ${f.mode} to ${n.mode}.`);
      }
      relaxed.push(f.name);
    }
    return n;
  });
  const known = new Set(old.fields.map((f) => f.name));
  const added = next.fields.filter((f) => !known.has(f.name));
  const required = added.find((f) => f.mode === "REQUIRED");
  if (required) throw invalid(`Cannot add required fields to an existing schema. (field: ${required.name})`);
  return { fields: [...fields, ...added], added, relaxed };
}

/** The REST resource as tables.get answers it: field types in legacy names (INTEGER, FLOAT, BOOLEAN). */
export function legacyTypes(resource: Json): Json {
  const schema = resource.schema as { fields?: Array<Json> } | undefined;
  if (!schema?.fields) return resource;
  const legacy: Record<string, string> = { INT64: "INTEGER", FLOAT64: "FLOAT", BOOL: "BOOLEAN" };
  const fields = schema.fields.map((f) => ({ ...f, type: legacy[String(f.type).toUpperCase()] ?? f.type }));
  return { ...resource, schema: { ...schema, fields } };
}

/** What kind of statement `sql` is and the table a DML statement writes. */
export function classify(
  sql: string,
): { kind: "begin" | "commit" | "rollback" | "mutate" | "insert" | "read"; table?: string } {
  const s = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, "");
  if (/^BEGIN(\s+TRANSACTION)?\s*;?\s*$/i.test(s)) return { kind: "begin" };
  if (/^COMMIT(\s+TRANSACTION)?\s*;?\s*$/i.test(s)) return { kind: "commit" };
  if (/^ROLLBACK(\s+TRANSACTION)?\s*;?\s*$/i.test(s)) return { kind: "rollback" };
  const m =
    /^(UPDATE|DELETE(?:\s+FROM)?|MERGE(?:\s+INTO)?|TRUNCATE\s+TABLE|INSERT(?:\s+INTO)?)\s+(`[^`]+`|[A-Za-z0-9_.-]+)/i
      .exec(s);
  if (!m) return { kind: "read" };
  const table = m[2]!.replaceAll("`", "").split(".").slice(-2).join(".");
  return { kind: /^INSERT/i.test(m[1]!) ? "insert" : "mutate", table };
}

/** Splits a script into statements at top-level semicolons (outside quotes and comments). */
export function splitScript(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      i++;
      while (i < sql.length && sql[i] !== c) i += sql[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end;
    } else if (c === ";") {
      out.push(sql.slice(start, i));
      start = ++i;
    } else i++;
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/** GoogleSQL to DuckDB: `` `a.b` `` to `"a"."b"`, `@name` to `$name`, `IN UNNEST(@x)` to `IN (SELECT UNNEST($x))`. */
export function toDuckSql(sql: string): string {
  const quoted = sql.replace(/`([^`]+)`/g, (_, id: string) => id.split(".").map((p) => `"${p}"`).join("."));
  const named = scanParams(quoted, (name) => `$${name}`).sql;
  return named.replace(/\bIN\s+UNNEST\s*\(\s*(\$[A-Za-z_][A-Za-z0-9_]*)\s*\)/gi, "IN (SELECT UNNEST($1))");
}

interface RestParam {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue?: { value?: string | null; arrayValues?: Array<{ value?: string | null }> };
}

/** REST NAMED `queryParameters` as DuckDB values and types. */
export function bindParams(parameters: readonly unknown[]): {
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
} {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const raw of parameters) {
    const p = raw as RestParam;
    const type = p.parameterType.type;
    if (type === "ARRAY") {
      const item = p.parameterType.arrayType?.type ?? "STRING";
      const items = (p.parameterValue?.arrayValues ?? []).map((v) => scalar(p.name, item, v.value ?? null));
      values[p.name] = listValue(items.map((x) => x[0]));
      types[p.name] = LIST(duckType(p.name, item));
    } else {
      [values[p.name], types[p.name]] = scalar(p.name, type, p.parameterValue?.value ?? null);
    }
  }
  return { values, types };
}

function duckType(name: string, type: string): DuckDBType {
  switch (type) {
    case "STRING":
    case "JSON":
      return VARCHAR;
    case "INT64":
      return BIGINT;
    case "FLOAT64":
      return DOUBLE;
    case "NUMERIC":
      return DECIMAL(38, 9);
    case "BOOL":
      return BOOLEAN;
    case "DATE":
      return DATE;
    case "TIMESTAMP":
      return TIMESTAMPTZ;
    case "BYTES":
      return BLOB;
  }
  throw new BigQueryJobError(`Unsupported query parameter type ${type} of parameter ${name}`);
}

function scalar(name: string, type: string, v: string | null): [DuckDBValue, DuckDBType] {
  const t = duckType(name, type);
  if (v === null) return [null, t];
  const bad = () => new BigQueryJobError(`Invalid ${type} value ${JSON.stringify(v)} of query parameter ${name}`);
  switch (type) {
    case "INT64":
      if (!/^-?\d+$/.test(v)) throw bad();
      return [BigInt(v), t];
    case "FLOAT64":
      return [Number(v), t];
    case "NUMERIC": {
      const d = parseDecimal(v);
      if (d === null) throw bad();
      return [decimalValue(d, 38, 9), t];
    }
    case "BOOL":
      return [v.toLowerCase() === "true", t];
    case "DATE":
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad();
      return [dateValue(epochDays(v)), t];
    case "TIMESTAMP": {
      const micros = parseTimestamp(v);
      if (micros === null) throw bad();
      return [timestampTZValue(micros), t];
    }
    case "BYTES":
      return [blobValue(new Uint8Array(Buffer.from(v, "base64"))), t];
    default:
      return [v, t];
  }
}

/** A REST field for a DuckDB result column. */
export function restField(name: string, t: DuckDBType): { name: string; type: string; mode: string } {
  if (t.typeId === DuckDBTypeId.LIST) {
    return { ...restField(name, (t as unknown as { valueType: DuckDBType }).valueType), mode: "REPEATED" };
  }
  const type = ((): string => {
    switch (t.typeId) {
      case DuckDBTypeId.BOOLEAN:
        return "BOOLEAN";
      case DuckDBTypeId.TINYINT:
      case DuckDBTypeId.SMALLINT:
      case DuckDBTypeId.INTEGER:
      case DuckDBTypeId.BIGINT:
      case DuckDBTypeId.HUGEINT:
      case DuckDBTypeId.UTINYINT:
      case DuckDBTypeId.USMALLINT:
      case DuckDBTypeId.UINTEGER:
      case DuckDBTypeId.UBIGINT:
      case DuckDBTypeId.SQLNULL:
        return "INTEGER";
      case DuckDBTypeId.FLOAT:
      case DuckDBTypeId.DOUBLE:
        return "FLOAT";
      case DuckDBTypeId.DECIMAL:
        return "NUMERIC";
      case DuckDBTypeId.VARCHAR:
        return t.alias === "JSON" ? "JSON" : "STRING";
      case DuckDBTypeId.DATE:
        return "DATE";
      case DuckDBTypeId.TIMESTAMP:
      case DuckDBTypeId.TIMESTAMP_TZ:
        return "TIMESTAMP";
      case DuckDBTypeId.BLOB:
        return "BYTES";
    }
    throw new BigQueryJobError(`The stand-in cannot return a column of type ${t.toString()} (column ${name})`);
  })();
  return { name, type, mode: "NULLABLE" };
}

/** A DuckDB value as a REST cell value `v`, encoded for the REST `field`. */
export function restValue(field: { type: string; mode: string }, v: DuckDBValue, int64Timestamps: boolean): unknown {
  if (v === null || v === undefined) return field.mode === "REPEATED" ? [] : null;
  if (field.mode === "REPEATED") {
    const item = { type: field.type, mode: "NULLABLE" };
    return (v as DuckDBListValue).items.map((x) => ({ v: restValue(item, x, int64Timestamps) }));
  }
  switch (field.type) {
    case "BOOLEAN":
      return v ? "true" : "false";
    case "NUMERIC": {
      const s = String(v);
      return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
    }
    case "TIMESTAMP": {
      const micros = (v as DuckDBTimestampTZValue).micros;
      return int64Timestamps ? micros.toString() : String(Number(micros) / 1e6);
    }
    case "BYTES":
      return Buffer.from((v as DuckDBBlobValue).bytes).toString("base64");
    default:
      return String(v);
  }
}
