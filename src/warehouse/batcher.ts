/**
 * Group commit for the small bookkeeping writes of many concurrent runs (run rows, step logs, data-quality
 * results, queue state): writes queued while one batch is being written go out together in the next, as one
 * warehouse transaction (on DuckDB one commit instead of one per write).
 *
 * - Inserts into the same table become one bulk insert, written before the batch's statements; a batched
 *   statement must only touch rows written before it was queued (keyed updates of a run's own rows do).
 * - Keyed updates (`update`) of the same table, key and columns become one `UPDATE ... FROM (SELECT ... UNION ALL
 *   ...)`, as long as that keeps every row's updates in the order they were queued; other statements run in
 *   queue order.
 * - Every caller's promise settles once its own write is committed. A batch that fails is retried one write at a
 *   time (the batch's transaction was rolled back on either backend), so a bad write fails alone.
 */
import type { ColumnType, TableSchema } from "../schema/table_schema.ts";
import { assertIdentifier, qualified, type QueryParams, type Row, type Warehouse } from "./warehouse.ts";

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

type Insert = { kind: "insert"; dataset: string; schema: TableSchema; rows: Row[]; settle: Settle<void> };
type Execute = { kind: "execute"; sql: string; params: QueryParams | undefined; settle: Settle<number> };
type Update = {
  kind: "update";
  table: string;
  schema: TableSchema;
  key: readonly string[];
  row: Row;
  settle: Settle<number>;
};
type Op = Insert | Execute | Update;

/** Writes per batch at most (a long queue is written in several transactions). */
const MAX_BATCH = 500;
/** Updates merged into one statement at most. */
const MAX_MERGED = 200;
const CASTS: Partial<Record<ColumnType, string>> = {
  STRING: "STRING",
  INT64: "INT64",
  NUMERIC: "NUMERIC(38, 9)",
  BOOLEAN: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMP",
};

const batchers = new WeakMap<Warehouse, WriteBatcher>();

export class WriteBatcher {
  readonly #queue: Op[] = [];
  #writing: Promise<void> | undefined;

  constructor(private readonly wh: Warehouse) {}

  /** The batcher shared by everything that writes bookkeeping to `wh` in this process. */
  static for(wh: Warehouse): WriteBatcher {
    let b = batchers.get(wh);
    if (!b) batchers.set(wh, b = new WriteBatcher(wh));
    return b;
  }

  /** Appends rows (validated like `Warehouse.insertRows`); resolves once they are committed. */
  insert(dataset: string, schema: TableSchema, rows: Row[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.#push({ kind: "insert", dataset, schema, rows, settle: { resolve, reject } })
    );
  }

  /** Runs a DML statement in a batch; resolves with its affected row count once committed. */
  execute(sql: string, params?: QueryParams): Promise<number> {
    return new Promise((resolve, reject) => this.#push({ kind: "execute", sql, params, settle: { resolve, reject } }));
  }

  /**
   * Sets the columns of `row` that are not in `key` on the rows of `dataset.schema` whose `key` columns equal
   * `row`'s (values typed as for query parameters: TIMESTAMP and DATE as strings). Resolves with the number of
   * rows changed by the statement it was merged into, once committed.
   * @throws {Error} at once for a column the schema lacks or of a type updates cannot set (JSON, BYTES, REPEATED)
   */
  update(dataset: string, schema: TableSchema, key: readonly string[], row: Row): Promise<number> {
    const table = qualified(dataset, schema.table);
    for (const name of Object.keys(row)) {
      assertIdentifier(name, "column");
      const f = schema.fields.find((x) => x.name === name);
      if (!f || f.mode === "REPEATED" || !CASTS[f.type]) {
        throw new Error(`Cannot batch an update of "${table}.${name}": no such column of a settable type`);
      }
    }
    if (!key.length || key.some((k) => !(k in row)) || Object.keys(row).length <= key.length) {
      throw new Error(`An update of "${table}" needs its key columns and at least one column to set`);
    }
    return new Promise((resolve, reject) =>
      this.#push({ kind: "update", table, schema, key, row, settle: { resolve, reject } })
    );
  }

  /** Resolves when every write queued before the call has been committed or has failed. */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #push(op: Op): void {
    this.#queue.push(op);
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    // One turn of the event loop lets the writes of other runs that are ready join this batch.
    await new Promise((r) => setTimeout(r, 0));
    try {
      while (this.#queue.length) await this.#write(this.#queue.splice(0, MAX_BATCH));
    } finally {
      // Cleared in the same turn as the last look at the queue: a write queued after it starts a new drain.
      this.#writing = undefined;
    }
  }

  async #write(batch: Op[]): Promise<void> {
    const done = new Set<Op>();
    const counts = new Map<Op, number>();
    try {
      await this.wh.transaction(async (tx) => {
        const byTable = new Map<string, Insert[]>();
        for (const op of batch) {
          if (op.kind !== "insert") continue;
          const key = `${op.dataset}.${op.schema.table}`;
          const ops = byTable.get(key);
          if (ops) ops.push(op);
          else byTable.set(key, [op]);
        }
        for (const ops of byTable.values()) {
          await tx.insertRows(ops[0]!.dataset, ops[0]!.schema, ops.flatMap((o) => o.rows));
          for (const o of ops) done.add(o);
        }
        for (const group of statementGroups(batch)) {
          const { sql, params } = group.length === 1 && group[0]!.kind === "execute"
            ? group[0]!
            : mergedUpdate(group as Update[]);
          const n = await tx.execute(sql, params);
          for (const op of group) {
            counts.set(op, n);
            done.add(op);
          }
        }
      });
    } catch {
      // The transaction rolled back (DuckDB and BigQuery alike): nothing was written, redo every write.
      for (const op of batch) {
        done.delete(op);
        try {
          if (op.kind === "insert") await this.wh.insertRows(op.dataset, op.schema, op.rows);
          else {
            const { sql, params } = op.kind === "execute" ? op : mergedUpdate([op]);
            counts.set(op, await this.wh.execute(sql, params));
          }
          done.add(op);
        } catch (e) {
          op.settle.reject(e);
        }
      }
    }
    for (const op of batch) {
      if (!done.has(op)) continue;
      if (op.kind === "insert") op.settle.resolve();
      else op.settle.resolve(counts.get(op)!);
    }
  }
}

/**
 * The batch's statements in groups to run in order: a plain statement alone (it may touch any row, so later
 * updates never join a group before it), updates of one table, key and column set together unless one of their
 * rows was touched by a later group meanwhile (that would reorder the row's updates).
 */
function statementGroups(batch: readonly Op[]): (Execute | Update)[][] {
  const groups: (Execute | Update)[][] = [];
  const open = new Map<string, number>(); // update shape -> index of the group still open for it
  const lastTouch = new Map<string, number>(); // row -> index of the last group that updated it
  let barrier = -1; // index of the last plain statement
  for (const op of batch) {
    if (op.kind === "insert") continue;
    if (op.kind === "execute") {
      groups.push([op]);
      barrier = groups.length - 1;
      continue;
    }
    const shape = `${op.table}|${op.key.join(",")}|${Object.keys(op.row).join(",")}`;
    const rowId = `${op.table}|${JSON.stringify(op.key.map((k) => op.row[k] ?? null))}`;
    const g = open.get(shape);
    let at: number;
    if (g !== undefined && g > barrier && (lastTouch.get(rowId) ?? -1) <= g && groups[g]!.length < MAX_MERGED) {
      groups[g]!.push(op);
      at = g;
    } else {
      groups.push([op]);
      at = groups.length - 1;
      open.set(shape, at);
    }
    lastTouch.set(rowId, at);
  }
  return groups;
}

/** One `UPDATE ... FROM` for updates of the same shape; of two updates of one row the later one wins. */
function mergedUpdate(ops: readonly Update[]): { sql: string; params: QueryParams } {
  const { table, schema, key } = ops[0]!;
  const columns = Object.keys(ops[0]!.row);
  const set = columns.filter((c) => !key.includes(c));
  const latest = new Map<string, Update>();
  for (const op of ops) latest.set(JSON.stringify(key.map((k) => op.row[k] ?? null)), op);
  const params: QueryParams = {};
  const selects = [...latest.values()].map((op, i) =>
    "SELECT " + columns.map((c) => {
      const f = schema.fields.find((x) => x.name === c)!;
      params[`u${i}_${c}`] = op.row[c] as QueryParams[string];
      return `CAST(@u${i}_${c} AS ${CASTS[f.type]}) AS ${c}`;
    }).join(", ")
  );
  const sql = `UPDATE ${table} AS t SET ${set.map((c) => `${c} = v.${c}`).join(", ")}
    FROM (${selects.join(" UNION ALL ")}) AS v WHERE ${key.map((k) => `t.${k} = v.${k}`).join(" AND ")}`;
  return { sql, params };
}
