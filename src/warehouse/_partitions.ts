/**
 * Partition helpers shared by both adapters: the partition column, the days of a range, and rows checked to lie
 * inside the range they replace.
 */
import type { Column, TableSchema } from "../schema/table_schema.ts";
import type { DayRange, Row } from "./warehouse.ts";
import { type Cell, checkSchema, normalizeColumns, normalizeRows } from "./_rows.ts";
import { addDays, type Day, dayFromIso, daysInRange, eachDay, isoDay, MAX_RANGE_DAYS } from "../time/day.ts";

const MICROS_PER_DAY = 86_400_000_000n;
/** The most days one partition replace may cover: a run's range, with room for MONTH-partitioned tables. */
const MAX_REPLACE_DAYS = MAX_RANGE_DAYS + 31;

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

/** The UTC day `"YYYY-MM-DD"` of a canonical DATE or TIMESTAMP cell. */
export function cellDay(cell: Cell): string | null {
  const day = cellDayValue(cell);
  return day === null ? null : isoDay(day);
}

/** The UTC day of a canonical DATE (`"YYYY-MM-DD"`) or TIMESTAMP (epoch microseconds) cell, as a value. */
export function cellDayValue(cell: Cell): Day | null {
  if (typeof cell === "string") return dayFromIso(cell) ?? null;
  if (typeof cell === "bigint") {
    const days = cell / MICROS_PER_DAY - (cell % MICROS_PER_DAY < 0n ? 1n : 0n);
    return Number(days) as Day;
  }
  return null;
}

/** A cell's day as the error messages show it. */
function showDay(cell: Cell): string {
  const day = cellDayValue(cell);
  return day === null ? String(cell ?? "null") : isoDay(day);
}

/** The range's days as values, checked: two real days `YYYY-MM-DD`, from <= to, at most a run's range long. */
export function rangeSpan(where: string, range: DayRange): { from: Day; to: Day } {
  const from = range ? dayFromIso(range.from) : undefined;
  const to = range ? dayFromIso(range.to) : undefined;
  if (from === undefined || to === undefined || to < from) {
    throw new Error(`Cannot replace partitions of ${where}: range must be two "YYYY-MM-DD" days with from <= to`);
  }
  if (daysInRange(from, to) > MAX_REPLACE_DAYS) {
    throw new Error(`Cannot replace partitions of ${where}: a range covers at most ${MAX_REPLACE_DAYS} days`);
  }
  return { from, to };
}

/**
 * Checks the range (real days, from <= to, bounded, whole months for MONTH
 * partitioning) and returns every day it holds.
 */
export function rangeDays(dataset: string, schema: TableSchema, range: DayRange): string[] {
  const where = `"${dataset}.${schema.table}"`;
  const { from, to } = rangeSpan(where, range);
  if (schema.partitioning?.type === "MONTH") {
    if (!isoDay(from).endsWith("-01") || !isoDay(addDays(to, 1)).endsWith("-01")) {
      throw new Error(
        `Cannot replace partitions of ${where}: it is partitioned by MONTH, so the range must cover whole months`,
      );
    }
  }
  return eachDay(from, to).map(isoDay);
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
  const span = rangeSpan(`"${dataset}.${schema.table}"`, range);
  const byColumn = layout === "columns";
  const cells = byColumn
    ? normalizeColumns(dataset, schema, rows, offset)
    : normalizeRows(dataset, schema, rows, offset);
  const column = schema.fields.indexOf(col);
  let lastDay: Cell = null;
  for (let i = 0; i < rows.length; i++) {
    const cell = (byColumn ? cells[column]![i] : cells[i]![column]) ?? null;
    if (cell === lastDay && cell !== null) continue; // checked on the row before
    const day = cellDayValue(cell);
    if (day === null || day < span.from || day > span.to) {
      throw new Error(
        `Cannot replace partitions of "${dataset}.${schema.table}": row ${offset + i} has ${col.name} ${
          showDay(cell)
        } outside ${range.from}..${range.to}`,
      );
    }
    lastDay = cell;
  }
  return { cells, days, column };
}

/** The day after `day` (`"YYYY-MM-DD"`). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
