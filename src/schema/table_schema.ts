/**
 * Table schemas as declared in configs/ (JSON files) and emitted into generated/.
 * The shape follows BigQuery's table resource (fields, timePartitioning, clustering)
 * so the BigQuery adapter can pass it through and the DuckDB adapter can translate it.
 */
import { z } from "zod";

/** Column types a table schema may use. */
export const COLUMN_TYPES = [
  "STRING",
  "INT64",
  "FLOAT64",
  "NUMERIC",
  "BOOLEAN",
  "DATE",
  "TIMESTAMP",
  "JSON",
  "BYTES",
] as const;
export type ColumnType = typeof COLUMN_TYPES[number];

/** Column modes: REPEATED columns hold a list of the column type. */
export const COLUMN_MODES = ["NULLABLE", "REQUIRED", "REPEATED"] as const;
export type ColumnMode = typeof COLUMN_MODES[number];

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be snake_case, starting with a letter");

export const columnSchema = z.strictObject({
  name: identifier,
  type: z.enum(COLUMN_TYPES),
  mode: z.enum(COLUMN_MODES).default("NULLABLE"),
  description: z.string().optional(),
});

export const tableSchemaFile = z.strictObject({
  description: z.string().min(1),
  fields: z.array(columnSchema).min(1),
  partitioning: z.strictObject({
    field: identifier,
    type: z.enum(["DAY", "MONTH"]).default("DAY"),
  }).optional(),
  clustering: z.array(identifier).max(4).optional(),
  primary_key: z.array(identifier).optional(),
});

export type Column = z.output<typeof columnSchema>;
export type TableSchemaFile = z.output<typeof tableSchemaFile>;

/** A table schema resolved by the compiler: the file contents plus the table name. */
export interface TableSchema {
  readonly table: string;
  readonly description: string;
  readonly fields: readonly Column[];
  readonly partitioning?: { readonly field: string; readonly type: "DAY" | "MONTH" };
  readonly clustering?: readonly string[];
  readonly primary_key?: readonly string[];
}

/** Checks references inside a schema file (partition/clustering/primary key columns exist, names unique). */
export function tableSchemaProblems(schema: TableSchemaFile): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const byName = new Map<string, Column>();
  schema.fields.forEach((f, i) => {
    if (byName.has(f.name)) problems.push({ path: ["fields", i, "name"], message: `duplicate column "${f.name}"` });
    byName.set(f.name, f);
  });
  if (schema.partitioning) {
    const col = byName.get(schema.partitioning.field);
    if (!col) {
      problems.push({
        path: ["partitioning", "field"],
        message: `partition column "${schema.partitioning.field}" is not a field`,
      });
    } else if (col.type !== "DATE" && col.type !== "TIMESTAMP") {
      problems.push({
        path: ["partitioning", "field"],
        message: `partition column "${col.name}" must be DATE or TIMESTAMP, not ${col.type}`,
      });
    }
  }
  for (const key of ["clustering", "primary_key"] as const) {
    (schema[key] ?? []).forEach((name, i) => {
      if (!byName.has(name)) problems.push({ path: [key, i], message: `${key} column "${name}" is not a field` });
    });
  }
  return problems;
}
