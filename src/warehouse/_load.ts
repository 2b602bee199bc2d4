/**
 * `Warehouse.replacePartitionsWith` on both adapters: the days of a range replaced by the rows a SELECT computes in
 * the warehouse itself (DELETE of the range, `INSERT ... SELECT`, then the counts the caller asked for over the new
 * rows), inside one transaction of the caller's, so the rows never pass through JavaScript and a refused count, a
 * row outside the range or a failing SELECT leaves every partition as it was. The SQL is the dialect both engines
 * share (`warehouse.ts`).
 */
import type { TableSchema } from "../schema/table_schema.ts";
import { checkSchema } from "./_rows.ts";
import { partitionColumn, rangeDays } from "./_partitions.ts";
import {
  type DayRange,
  type LoadQuery,
  type LoadVerify,
  qualified,
  REPORTED_LIMIT,
  type RowCount,
  type WarehouseTx,
} from "./warehouse.ts";

const NUMERIC_TYPES = new Set(["NUMERIC", "INT64", "FLOAT64"]);

/** `SUM(CASE WHEN ... THEN 1 ELSE 0 END)` over rows where any of `columns` satisfies `test`. */
function anyOf(columns: readonly string[], test: (column: string) => string): string {
  return `SUM(CASE WHEN ${columns.map(test).join(" OR ")} THEN 1 ELSE 0 END)`;
}

/** The condition of the rows an any_null or any_negative count counts. */
function badRows(count: RowCount & { columns: readonly string[] }): string {
  const test = count.kind === "any_null" ? (c: string) => `${c} IS NULL` : (c: string) => `${c} < 0`;
  return `(${count.columns.map(test).join(" OR ")})`;
}

/** The aggregate expression of one count over the range's rows, or null when it needs a query of its own. */
function countExpr(schema: TableSchema, count: RowCount): string | null {
  if (count.kind === "rows") return "COUNT(*)";
  const names = new Set(schema.fields.map((f) => f.name));
  for (const c of count.columns) {
    if (!names.has(c)) throw new Error(`Cannot count ${count.kind} of "${schema.table}": no column "${c}"`);
  }
  if (count.columns.length === 0) return "0";
  if (count.kind === "any_null") return anyOf(count.columns, (c) => `${c} IS NULL`);
  if (count.kind === "any_negative") {
    for (const c of count.columns) {
      const type = schema.fields.find((f) => f.name === c)!.type;
      if (!NUMERIC_TYPES.has(type)) throw new Error(`Cannot count negatives of "${schema.table}.${c}": a ${type}`);
    }
    return anyOf(count.columns, (c) => `${c} < 0`);
  }
  return null;
}

/**
 * Replaces the days of `range` in `dataset.schema.table` by the rows of `select` inside `tx`, then hands
 * `verify.accept` the counts over those rows; resolves with the rows written.
 * @throws {Error} when the range or table is invalid, the SELECT fails or yields a row outside the range, or
 *   `verify.accept` throws (the caller's transaction then rolls back)
 */
export async function loadInto(
  tx: WarehouseTx,
  dataset: string,
  schema: TableSchema,
  range: DayRange,
  select: LoadQuery,
  verify?: LoadVerify,
): Promise<number> {
  checkSchema(dataset, schema);
  const col = partitionColumn(dataset, schema);
  rangeDays(dataset, schema, range);
  const table = qualified(dataset, schema.table);
  const day = col.type === "DATE" ? col.name : `CAST(${col.name} AS DATE)`;
  const where = `${day} BETWEEN CAST(@load_from AS DATE) AND CAST(@load_to AS DATE)`;
  const bounds = { load_from: range.from, load_to: range.to };
  const columns = schema.fields.map((f) => f.name).join(", ");
  await tx.execute(`DELETE FROM ${table} WHERE ${where}`, bounds);
  const written = await tx.execute(
    `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM (${select.sql}) AS load_source`,
    select.params,
  );
  const counts = verify?.counts ?? [];
  const exprs = counts.map((c) => countExpr(schema, c));
  const selected = ["COUNT(*) AS in_range", ...exprs.flatMap((e, i) => (e === null ? [] : [`${e} AS c${i}`]))];
  const [got] = await tx.query<Record<string, unknown>>(
    `SELECT ${selected.join(", ")} FROM ${table} WHERE ${where}`,
    bounds,
  );
  if (Number(got?.in_range ?? 0) !== written) {
    throw new Error(
      `Cannot replace partitions of "${dataset}.${schema.table}": ${
        written - Number(got?.in_range ?? 0)
      } rows of the query fall outside ${range.from}..${range.to}`,
    );
  }
  const observed: number[] = [];
  for (const [i, count] of counts.entries()) {
    if (exprs[i] !== null) {
      observed.push(Number(got?.[`c${i}`] ?? 0));
      continue;
    }
    // duplicates: rows beyond the first of each key (NULLs group together, as the JS check treats them)
    const keys = (count as { columns: readonly string[] }).columns.join(", ");
    const [dup] = await tx.query<{ d: unknown }>(
      `SELECT COALESCE(SUM(n - 1), 0) AS d FROM (SELECT COUNT(*) AS n FROM ${table} WHERE ${where} GROUP BY ${keys}) AS g`,
      bounds,
    );
    observed.push(Number(dup?.d ?? 0));
  }
  const reported: string[][] = [];
  for (const [i, count] of counts.entries()) {
    const by = count.kind === "rows" ? [] : count.reportBy ?? [];
    if (by.length === 0 || observed[i] === 0 || count.kind === "rows" || count.kind === "duplicates") {
      reported.push([]);
      continue;
    }
    for (const c of by) {
      if (!schema.fields.some((f) => f.name === c)) {
        throw new Error(`Cannot report by "${c}" of "${schema.table}": no such column`);
      }
    }
    const values = await tx.query<Record<string, unknown>>(
      `SELECT DISTINCT ${by.join(", ")} FROM ${table} WHERE ${where} AND ${badRows(count)}
       ORDER BY ${by.map((c) => `${c} ASC NULLS FIRST`).join(", ")} LIMIT ${REPORTED_LIMIT}`,
      bounds,
    );
    reported.push(values.map((v) => by.map((c) => JSON.stringify(v[c] ?? null)).join("/")));
  }
  await verify?.accept(observed, reported);
  return written;
}
