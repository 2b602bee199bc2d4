/**
 * Partition helpers shared by both adapters: the partition column, the days of a range, and rows checked to lie
 * inside the range they replace.
 */
import type { Column, TableSchema } from "../schema/table_schema.ts";
import type { DayRange, Row } from "./warehouse.ts";
import { type Cell, checkSchema, isDay, isoDay, normalizeColumns, normalizeRows } from "./_rows.ts";

const DAY_MS = 86_400_000;

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
 * Validates rows for a partition replace: schema checks plus every row's partition day inside the range. Returns
 * canonical cells (one array per row, or per column with `layout: "columns"`), the days and the partition column's
 * index. `offset` is the index of the first row in the whole write.
 */
export function normalizeForReplace(
  dataset: string,
  schema: TableSchema,
  range: DayRange,
  rows: readonly Row[],
  offset = 0,
  layout: "rows" | "columns" = "rows",
): { cells: Cell[][]; days: string[]; column: number } {
  checkSchema(dataset, schema);
  const col = partitionColumn(dataset, schema);
  const days = rangeDays(dataset, schema, range);
  const byColumn = layout === "columns";
  const cells = byColumn
    ? normalizeColumns(dataset, schema, rows, offset)
    : normalizeRows(dataset, schema, rows, offset);
  const column = schema.fields.indexOf(col);
  let lastDay: Cell = null;
  for (let i = 0; i < rows.length; i++) {
    const cell = (byColumn ? cells[column]![i] : cells[i]![column]) ?? null;
    if (cell === lastDay && cell !== null) continue; // checked on the row before
    const day = cellDay(cell);
    if (day === null || day < range.from || day > range.to) {
      throw new Error(
        `Cannot replace partitions of "${dataset}.${schema.table}": row ${offset + i} has ${col.name} ${
          day ?? "null"
        } outside ${range.from}..${range.to}`,
      );
    }
    lastDay = cell;
  }
  return { cells, days, column };
}
