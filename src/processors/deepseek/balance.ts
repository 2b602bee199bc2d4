/**
 * `deepseek.balance`: reads `GET /user/balance` once and returns one snapshot row per currency for the run's
 * date into `deepseek_balance_daily` (the executor replaces that day's partition, so a re-run keeps one row
 * per currency). DeepSeek has no usage API: these snapshots are the only data daily spend can come from.
 *
 * A balance can only be read as it is now, so the snapshot date must be today or at most
 * {@link MAX_SNAPSHOT_LAG_DAYS} days back (UTC): recording today's balance as the end of a day long past
 * would invent history. A scheduled run for yesterday, even delayed or retried, falls inside the window.
 */
import { DeepSeekClient } from "../../providers/deepseek.ts";
import { dayOf, isoDay, parseIsoDay } from "../../time/day.ts";
import { deepseekBalanceSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { type ProcessorContext } from "../context.ts";
import { AppError } from "../../errors/mod.ts";

/** How many days back a snapshot may still be recorded for. */
export const MAX_SNAPSHOT_LAG_DAYS = 2;

/** The credential the executor decrypted for this run. */
export function deepseekKey(ctx: ProcessorContext): string {
  const key = ctx.state.get("credential");
  if (typeof key !== "string" || key === "") throw new Error(`Step "${ctx.step.id}" has no DeepSeek credential`);
  return key;
}

/**
 * Throws a 400 unless `date` is a UTC day between {@link MAX_SNAPSHOT_LAG_DAYS} days before `now` and `now`.
 * @throws {AppError} naming the `date` field
 */
export function checkSnapshotDate(date: string, now: Date): void {
  const day = parseIsoDay(date, "date");
  const today = isoDay(dayOf(now));
  const lag = dayOf(now) - day;
  if (lag < 0) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "date" (${date}) is after today (${today} UTC): the balance at the end of a future day is unknown`,
    );
  }
  if (lag > MAX_SNAPSHOT_LAG_DAYS) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "date" (${date}) is ${lag} days back: DeepSeek only reports the balance as it is now, so a snapshot ` +
        `can be recorded for at most ${MAX_SNAPSHOT_LAG_DAYS} days back`,
    );
  }
}

export const deepseekBalanceProcessor = defineProcessor(deepseekBalanceSpec, async (ctx, config) => {
  const now = ctx.now();
  checkSnapshotDate(config.date, now);
  const client = new DeepSeekClient({
    apiKey: deepseekKey(ctx),
    baseUrl: ctx.env.deepseekBaseUrl,
    onRetry: ({ endpoint, attempt, delayMs, error }) =>
      ctx.logger.warn("retrying DeepSeek call", { endpoint, attempt, delay_ms: delayMs, error: error.message }),
  });
  let balance;
  try {
    balance = await client.balance();
  } catch (cause) {
    throw new Error("Reading the DeepSeek balance", { cause });
  }
  const seen = new Set<string>();
  const rows = balance.balance_infos.map((info) => {
    if (seen.has(info.currency)) throw new Error(`DeepSeek reported currency "${info.currency}" twice`);
    seen.add(info.currency);
    return {
      snapshot_date: config.date,
      snapshot_at: now.toISOString(),
      currency: info.currency,
      total_balance: info.total_balance,
      granted_balance: info.granted_balance,
      topped_up_balance: info.topped_up_balance,
      is_available: balance.is_available,
      run_id: ctx.run?.id ?? "adhoc",
      ingested_at: now.toISOString(),
    };
  });
  ctx.logger.info("DeepSeek balance read", { currencies: [...seen], date: config.date });
  return { rows, range: { from: config.date, to: config.date } };
});
