/**
 * `openai.subscriptions`: the org's OpenAI plans (organizations.org_openai_subscriptions) in force during a UTC
 * calendar month, one openai_subscriptions_monthly row per plan version, replacing that month's partition.
 *
 * `list_cost` = quantity x unit price for the month (a yearly fee is spread over 12 months), prorated by the days
 * of the month the version is in force, so a plan changed mid-month is not charged twice. Exact decimals, rounded
 * once to 9 places.
 */
import type { PlanRow } from "../../pricing/subscriptions.ts";
import { openaiSubscriptionsSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { formatScaled, int, orgOf, roundDiv, toScaled } from "../_cost.ts";
import { addDays, type Day, dayFromIso, isoDay, nextMonthStart } from "../../time/day.ts";
import { AppError } from "../../errors/mod.ts";

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export type { PlanRow };

/** First and last day of `YYYY-MM`, and the first day of the next month. */
export function monthDays(month: string): { first: string; last: string; next: string } {
  const first = MONTH.test(month) ? dayFromIso(`${month}-01`) : undefined;
  if (first === undefined) {
    throw new AppError("VALIDATION_ERROR", `Field "month" must be written YYYY-MM, not "${month}"`);
  }
  const next = nextMonthStart(first);
  return { first: isoDay(first), last: isoDay(addDays(next, -1)), next: isoDay(next) };
}

/** A DATE read back as text, as a value. @throws {Error} for anything but `YYYY-MM-DD` */
function storedDay(text: string, what: string): Day {
  const day = dayFromIso(String(text).slice(0, 10));
  if (day === undefined) {
    throw new Error(`Subscription ${what} ${JSON.stringify(text)} is not a day written YYYY-MM-DD`);
  }
  return day;
}

/** The month's fee of one plan version: quantity x unit price (/12 when yearly) x days in force / days in month. */
export function monthlyFee(plan: PlanRow, month: { first: string; next: string }): string {
  const first = storedDay(month.first, "month start");
  const next = storedDay(month.next, "next month start");
  const from = Math.max(storedDay(plan.effective_from, "effective_from"), first);
  const to = plan.effective_to === null ? next : Math.min(storedDay(plan.effective_to, "effective_to"), next);
  const inForce = BigInt(Math.max(0, to - from));
  const periods = plan.billing_period === "yearly" ? 12n : 1n;
  const fee = int(plan.quantity) * toScaled(plan.unit_price_usd) * inForce;
  return formatScaled(roundDiv(fee, periods * BigInt(next - first)));
}

export const openaiSubscriptionsProcessor = defineProcessor(openaiSubscriptionsSpec, async (ctx, config) => {
  const org = orgOf(ctx);
  const month = config.month.trim() || ctx.now().toISOString().slice(0, 7);
  const span = monthDays(month);
  const plans = await ctx.stores.prices.plansInForce(org.slug, { from: span.first, to: span.last });
  const ingestedAt = ctx.now().toISOString();
  const rows = plans.map((p) => {
    const fee = monthlyFee(p, span);
    return {
      month_start: span.first,
      month,
      provider: "openai",
      plan_name: p.plan_name,
      quantity: p.quantity,
      unit_price_usd: p.unit_price_usd,
      billing_period: p.billing_period,
      rpm_limit: p.rpm_limit,
      tpm_limit: p.tpm_limit,
      monthly_spend_limit_usd: p.monthly_spend_limit_usd,
      effective_from: p.effective_from,
      effective_to: p.effective_to,
      list_cost: fee,
      cost: fee,
      currency: "USD",
      run_id: ctx.run?.id ?? "adhoc",
      ingested_at: ingestedAt,
    };
  });
  ctx.logger.info("subscription rows built", { month, rows: rows.length });
  return { rows, range: { from: span.first, to: span.last } };
});
