/**
 * Multi-statement transactions of the BigQuery adapter. A transaction runs in a BigQuery session: `BEGIN
 * TRANSACTION` (the query that creates the session, or reuses an idle one), the callback's statements with the
 * session's `connectionProperties`, then `COMMIT TRANSACTION`, or `ROLLBACK TRANSACTION` when the callback throws.
 * BigQuery gives it snapshot isolation and commits it atomically; a transaction that mutates (UPDATE, DELETE,
 * MERGE) a table another transaction or DML statement mutates at the same time is cancelled with "Transaction is
 * aborted due to concurrent update against table ...", which the adapter throws as a `WRITE_CONFLICT` AppError, so the caller may
 * retry. INSERTs do not conflict: a transaction that must not run twice side by side should UPDATE the rows it
 * depends on (even its own fresh rows) so that a concurrent twin is the one cancelled.
 *
 * Rows written inside a transaction travel as one `INSERT ... VALUES` per chunk of rows with typed NAMED
 * parameters (a load job cannot join a session's transaction).
 */
import type { Column, TableSchema } from "../schema/table_schema.ts";
import { Buffer } from "node:buffer";
import type { QueryParameter } from "./_bigquery_values.ts";
import { type Cell, formatDecimal, formatTimestamp, type Scalar } from "./_rows.ts";

/** Parameters per INSERT statement at most (BigQuery allows 10,000 per query). */
const MAX_PARAMS = 5000;
/** Idle sessions kept for the next transaction. */
const IDLE_SESSIONS = 4;

/** A session to run a query in: `id` set once BigQuery created it. */
export interface SessionRef {
  id?: string;
}

/** Runs one query job, in `session` when given (creating it when it has no id yet). */
export type RunInSession = (
  context: string,
  sql: string,
  parameters: QueryParameter[],
  session?: SessionRef,
) => Promise<{ rows: Record<string, unknown>[]; affected: number }>;

/** Sessions with no transaction open, reused by later transactions. */
export class SessionPool {
  readonly #idle: string[] = [];

  take(): SessionRef {
    const id = this.#idle.pop();
    return id ? { id } : {};
  }

  give(session: SessionRef): void {
    if (session.id && this.#idle.length < IDLE_SESSIONS) this.#idle.push(session.id);
  }
}

/**
 * Runs `body` inside BEGIN/COMMIT TRANSACTION on a session. When `body` throws, the transaction is rolled back and
 * the error rethrown; when COMMIT fails (e.g. a concurrent update), BigQuery has rolled it back and the error says
 * why.
 */
export async function inSessionTransaction<T>(
  run: RunInSession,
  pool: SessionPool,
  body: (session: SessionRef) => Promise<T>,
): Promise<T> {
  const session = pool.take();
  await run("Cannot begin a BigQuery transaction", "BEGIN TRANSACTION", [], session);
  let result: T;
  try {
    result = await body(session);
  } catch (e) {
    // BigQuery may have ended the transaction already (a failed statement or a conflict cancels it): then ROLLBACK
    // is refused, and the session is not reused.
    const rolledBack = await run("Cannot roll back a BigQuery transaction", "ROLLBACK TRANSACTION", [], session)
      .then(() => true, () => false);
    if (rolledBack) pool.give(session);
    throw e;
  }
  await run("BigQuery transaction failed to commit", "COMMIT TRANSACTION", [], session);
  pool.give(session);
  return result;
}

/** `INSERT INTO dataset.table (...) VALUES (...)` statements with typed parameters for canonical rows. */
export function insertStatements(
  dataset: string,
  schema: TableSchema,
  cells: readonly Cell[][],
): Array<{ sql: string; parameters: QueryParameter[] }> {
  const fields = schema.fields;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / fields.length));
  const out: Array<{ sql: string; parameters: QueryParameter[] }> = [];
  for (let start = 0; start < cells.length; start += perStatement) {
    const parameters: QueryParameter[] = [];
    const tuples = cells.slice(start, start + perStatement).map((row, r) =>
      "(" + fields.map((f, c) => {
        const name = `r${r}_c${c}`;
        parameters.push(cellParameter(name, f, row[c] ?? null));
        return `@${name}`;
      }).join(", ") + ")"
    );
    const columns = fields.map((f) => `\`${f.name}\``).join(", ");
    out.push({
      sql: `INSERT INTO \`${dataset}.${schema.table}\` (${columns}) VALUES ${tuples.join(", ")}`,
      parameters,
    });
  }
  return out;
}

const PARAM_TYPES: Record<Column["type"], string> = {
  STRING: "STRING",
  INT64: "INT64",
  FLOAT64: "FLOAT64",
  NUMERIC: "NUMERIC",
  BOOLEAN: "BOOL",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMP",
  JSON: "JSON",
  BYTES: "BYTES",
};

function cellParameter(name: string, f: Column, cell: Cell): QueryParameter {
  const type = PARAM_TYPES[f.type];
  if (f.mode === "REPEATED") {
    const items = Array.isArray(cell) ? cell : [];
    return {
      name,
      parameterType: { type: "ARRAY", arrayType: { type } },
      parameterValue: { arrayValues: items.map((v) => ({ value: scalarText(f, v) })) },
    };
  }
  return {
    name,
    parameterType: { type },
    parameterValue: { value: cell === null ? null : scalarText(f, cell as Scalar) },
  };
}

function scalarText(f: Column, v: Scalar): string {
  switch (f.type) {
    case "NUMERIC":
      return formatDecimal(v as bigint);
    case "TIMESTAMP":
      return formatTimestamp(v as bigint);
    case "BYTES":
      return Buffer.from(v as Uint8Array).toString("base64");
    default:
      return String(v);
  }
}
