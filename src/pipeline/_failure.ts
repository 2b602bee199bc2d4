/**
 * A run's failure in the words a tenant may read: what failed, without engine internals or server paths (those
 * stay in the detail the server logs under the run id). Private to the pipeline folder (the executor uses it).
 */
import { AppError, DEPENDENCY_CODES } from "../errors/mod.ts";

/** Engine and server internals that a tenant's run error must not carry (the log has them). */
const INTERNAL_TEXT =
  /DuckDB|(Catalog|Binder|Parser|Conversion|Constraint|TransactionContext|IO|INTERNAL|FATAL|Invalid Input|Out of Memory) Error|Could not (write|read|open) file|No space left|database has been invalidated|Cannot use the warehouse/i;
/** Absolute server paths, by their usual roots (a provider's API path such as `/v1/usage` is left alone). */
const ABSOLUTE_PATH =
  /(?<![\w:/.%-])\/(?:tmp|work|home|data|app|var|usr|opt|root|etc|srv|mnt|run|proc|private|Users)\/[\w.@/-]*/g;
/** The warehouse adapters' contexts (`wrap(context, e)`), as what failed in the tenant's words. */
const WAREHOUSE_CONTEXTS: [RegExp, string][] = [
  [/^Cannot (?:insert into|replace partitions of) "[^".]+\.([^"]+)"/, "Writing table $1 failed"],
  [/^Cannot create table "[^".]+\.([^"]+)"/, "Creating table $1 failed"],
  [/^Cannot (?:create|drop) dataset/, "Preparing the organization's dataset failed"],
];

/**
 * A failure as a tenant sees it (run `error_message`, step logs, `?wait=true`) and as the server logs it.
 * `message` names what failed; raw engine text and absolute paths stay in `detail`, logged under the run id.
 * Processor and provider messages (e.g. `OpenAI answered 401: invalid key`) are kept, paths removed.
 */
export function describeFailure(err: unknown, runId?: string): { message: string; code: string; detail: string } {
  const chain: string[] = [];
  for (let c = err, i = 0; i < 4; i++, c = (c as Error).cause) {
    chain.push(c instanceof Error ? c.message : String(c));
    if (!(c instanceof Error) || c.cause === undefined) break;
  }
  const detail = chain.join(": ").slice(0, 2000);
  // The warehouse's and the vault's own failures (DEPENDENCY_CODES) are step failures told in the tenant's words.
  const own = err instanceof AppError && !DEPENDENCY_CODES.has(err.code) && err.name !== "ProviderError";
  const code = err instanceof Error && err.name === "ProviderError"
    ? "PROVIDER_ERROR"
    : own
    ? (err as AppError).code
    : "STEP_FAILED";
  const text = own ? (err as AppError).message : detail;
  if (!INTERNAL_TEXT.test(text)) return { message: text.replace(ABSOLUTE_PATH, "[path]").slice(0, 2000), code, detail };
  const unavailable = /No space left|database has been invalidated|warehouse is unavailable/i.test(detail);
  let what = "The step failed";
  const top = chain.find((m) => WAREHOUSE_CONTEXTS.some(([re]) => re.test(m))) ?? chain[0] ?? "";
  for (const [re, text] of WAREHOUSE_CONTEXTS) if (re.test(top)) what = top.match(re)![0].replace(re, text);
  const kind = unavailable ? "warehouse unavailable; retry later" : "warehouse error";
  const ref = runId ? ` under run id ${runId}` : "";
  return { message: `${what} (${kind}); the server log has the details${ref}`, code, detail };
}
