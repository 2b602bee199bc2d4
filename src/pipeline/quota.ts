/**
 * Plan limits per org: the 429 a limit answers with (checked against the counts the quota store reads in one
 * query, src/central/quotas.ts, shared by the run claim and the quota endpoint), the reset instants, and the
 * in-process mutex that lets claims of one org wait for each other ({@link OrgMutex}), so the claim's conflict
 * path is rare.
 */
import { AppError } from "../errors/mod.ts";
import type { Plan, Usage } from "../central/quotas.ts";

/** `Retry-After` of a concurrency 429: a slot frees when a running run ends, which nothing predicts. */
export const CONCURRENT_RETRY_SECONDS = 5;

export type QuotaLimit = "concurrent" | "daily" | "monthly";

/** `details` of a 429 `QUOTA_EXCEEDED` (the scheduler reads them). */
export interface QuotaDetails {
  readonly limit: QuotaLimit;
  readonly used: number;
  readonly max: number;
  readonly plan: string;
  /** Next UTC midnight (daily), next UTC month start (monthly), null (concurrent). */
  readonly resets_at: string | null;
  readonly retry_after_seconds: number;
  readonly [key: string]: unknown;
}

/** The next UTC midnight after `now`. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** The first instant of the UTC month after `now`'s. */
export function nextMonthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

/**
 * The 429 for the first limit `usage` has reached, or undefined when one more run fits. Monthly is checked
 * first, then daily, then concurrent: the limit reported is the one that lasts longest.
 */
export function quotaExceeded(orgSlug: string, plan: Plan, usage: Usage, now: Date): AppError | undefined {
  const checks: [QuotaLimit, number, number, Date | null, string][] = [
    ["monthly", usage.month, plan.perMonth, nextMonthStart(now), "runs per month"],
    ["daily", usage.today, plan.perDay, nextUtcMidnight(now), "runs per day"],
    ["concurrent", usage.running, plan.concurrent, null, "concurrent runs"],
  ];
  for (const [limit, used, max, resets, what] of checks) {
    if (used < max) continue;
    const retryAfter = resets
      ? Math.max(1, Math.ceil((resets.getTime() - now.getTime()) / 1000))
      : CONCURRENT_RETRY_SECONDS;
    const details: QuotaDetails = {
      limit,
      used,
      max,
      plan: plan.name,
      resets_at: resets?.toISOString() ?? null,
      retry_after_seconds: retryAfter,
    };
    const when = resets ? `resets at ${resets.toISOString()}` : "a slot frees when one of its runs ends";
    return new AppError(
      "QUOTA_EXCEEDED",
      `Plan limit reached: ${used} of ${max} ${what} for "${orgSlug}" (${plan.name}); ${when}`,
      { details: { ...details }, retryAfterS: retryAfter },
    );
  }
  return undefined;
}

/** The org has no active subscription: no run can be counted against a plan. */
export function noPlan(orgSlug: string): AppError {
  return new AppError("ORG_NOT_FOUND", `Organization "${orgSlug}" has no active subscription`);
}

/** One async mutex per key: callers of one key run one at a time, in arrival order. */
export class OrgMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
