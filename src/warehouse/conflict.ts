/**
 * Write conflicts: a lost race between two transactions writing the same rows or table (DuckDB:
 * "TransactionContext Error: Conflict on tuple deletion!"/"Conflict on update!", BigQuery: "Could not serialize
 * access to table ... due to concurrent update" for a DML statement, "Transaction is aborted due to concurrent update
 * against table ..." for a multi-statement transaction). The losing statement or transaction was rolled back, so the
 * caller may retry it; {@link isWriteConflict} finds one anywhere in an error's cause chain.
 */

const WRITE_CONFLICT =
  /TransactionContext Error: .*[Cc]onflict|write-write conflict|Could not serialize access to table .* due to concurrent update|Transaction is aborted due to concurrent update/;

/** Whether `err` (or one of its first causes) is a write conflict the caller may retry. */
export function isWriteConflict(err: unknown): boolean {
  let e = err;
  for (let i = 0; e instanceof Error && i < 5; i++, e = e.cause) if (WRITE_CONFLICT.test(e.message)) return true;
  return false;
}
