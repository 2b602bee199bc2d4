/**
 * Calls into the BigQuery client as the adapter makes them: client errors turned into plain Errors that carry no
 * request or token, a lost write race into `WRITE_CONFLICT`, and jobs run a few at a time.
 */
import { writeConflict } from "./errors.ts";

/**
 * BigQuery's words for a lost race: "Could not serialize access to table ... due to concurrent update" (a DML
 * statement), "Transaction is aborted due to concurrent update against table ..." (a multi-statement transaction).
 */
const CONFLICT =
  /Could not serialize access to table .* due to concurrent update|Transaction is aborted due to concurrent update/;

/**
 * Runs `fn`, turning client errors into plain Errors (no request, no token), a lost write race into a
 * `WRITE_CONFLICT` AppError (`errors.ts`); `ignore` lists HTTP codes to swallow.
 */
export async function call<T>(context: string, fn: () => Promise<T>, ignore: number[] = []): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as { code?: number; message?: string; errors?: Array<{ reason?: string; message?: string }> };
    if (typeof err.code === "number" && ignore.includes(err.code)) return undefined as T;
    const details = (err.errors ?? []).map((x) => x.message).filter((m) => m && m !== err.message).slice(0, 3);
    const message = [err.message ?? String(e), ...details].join("; ");
    const plain = new Error(`${context}: ${message}${err.code ? ` (HTTP ${err.code})` : ""}`);
    throw CONFLICT.test(message) ? writeConflict(plain) : plain;
  }
}

export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < items.length && failure === null) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}
