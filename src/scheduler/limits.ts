/**
 * What a refused start means for a queued item. The executor refuses a start at a plan limit with
 * `AppError("QUOTA_EXCEEDED", message, {details: { limit: "concurrent" | "daily" | "monthly", used, max, plan,
 * resets_at, retry_after_seconds }})`, and a second run of a running pipeline with RUN_IN_PROGRESS. A busy
 * slot (concurrent, or a 429 without `details.limit`, or the 409) means "wait a little", and so does a claim that
 * lost its race to other orgs' claims too often (503 CLAIM_CONTENDED: nothing was started, the warehouse was busy);
 * a daily or monthly limit means "deferred until it resets".
 */
import { AppError, TRANSIENT_CODES } from "../errors/mod.ts";
import { type Day, dayOf, nextMonthStart, startOfDay } from "../time/day.ts";

/** How long an item whose claim lost too many races waits before it is tried again. */
const CONTENDED_WAIT_MS = 1_000;

export interface WaitReason {
  /** The reset instant of a daily or monthly limit; undefined for a busy slot. */
  readonly until?: Date;
  /** For a busy slot: how long to wait before trying again (from the executor's hint), if it gave one. */
  readonly retryAfterMs?: number;
  /** Shown as the item's last_error: "waiting: ..." or "deferred: ... until <instant>". */
  readonly reason: string;
}

/** When a limit of `kind` resets after `now`: the next UTC midnight (daily) or month start (monthly). */
export function limitReset(kind: "daily" | "monthly", now: Date): Date {
  const today = dayOf(now);
  return startOfDay(kind === "daily" ? (today + 1) as Day : nextMonthStart(today));
}

/**
 * Whether a start refused with `err` (and not a wait) may pass on a later attempt: an unexpected error or a
 * transient code (`TRANSIENT_CODES`), not a refusal of the request or its configuration.
 */
export function mayPassLater(err: unknown): boolean {
  return !(err instanceof AppError) || TRANSIENT_CODES.has(err.code);
}

/** Why a start refusal is a wait rather than a failure, or undefined when it is a failure. */
export function waitReason(err: unknown, now: Date): WaitReason | undefined {
  if (!(err instanceof AppError)) return undefined;
  if (err.code === "RUN_IN_PROGRESS") {
    return { reason: `waiting: ${err.message}` };
  }
  if (err.code === "CLAIM_CONTENDED") {
    return { retryAfterMs: CONTENDED_WAIT_MS, reason: `waiting: ${err.message}` };
  }
  if (err.code !== "QUOTA_EXCEEDED") return undefined;
  const d = err.details ?? {};
  const numbers = typeof d.used === "number" && typeof d.max === "number"
    ? ` (${d.used} of ${d.max}${typeof d.plan === "string" ? `, plan ${d.plan}` : ""})`
    : "";
  if (d.limit === "daily" || d.limit === "monthly") {
    const given = typeof d.resets_at === "string" ? new Date(d.resets_at) : undefined;
    const until = given && !Number.isNaN(given.getTime()) && given > now ? given : limitReset(d.limit, now);
    const what = d.limit === "daily" ? "runs per day" : "runs per month";
    return { until, reason: `deferred: plan limit of ${what} reached${numbers} until ${until.toISOString()}` };
  }
  const after = typeof d.retry_after_seconds === "number" && d.retry_after_seconds > 0
    ? Math.min(60, d.retry_after_seconds) * 1000
    : undefined;
  return {
    ...(after ? { retryAfterMs: after } : {}),
    reason: `waiting: plan limit of concurrent runs reached${numbers}; the item runs when a slot frees`,
  };
}
