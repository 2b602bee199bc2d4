/**
 * Unpriced usage, never silent: the usage rows of a period that have no price in force (no cost), per provider,
 * model and unit, with the quantity used and the days it was used on. `GET /costs` lists it as `unpriced`; the
 * reconciliation names the same models in its reasons.
 */
import { formatScaled, toScaled } from "../processors/_decimal.ts";
import { money } from "./query.ts";

/** One day of unpriced usage as the cost store reads it. */
export interface UnpricedDay {
  readonly provider: string;
  readonly model: string | null;
  readonly unit: string | null;
  readonly day: string;
  readonly quantity: string | null;
  readonly records: number | string;
}

/** Unpriced usage of one provider, model and unit over the period. */
export interface Unpriced {
  provider: string;
  model: string | null;
  unit: string | null;
  quantity: string | null;
  records: number;
  days: string[];
}

/** The days grouped per provider, model and unit (in the order read), quantities summed exactly. */
export function unpricedUsage(days: readonly UnpricedDay[]): Unpriced[] {
  const out = new Map<string, Unpriced & { scaled: bigint | null }>();
  for (const d of days) {
    const k = JSON.stringify([d.provider, d.model, d.unit]);
    const u = out.get(k) ??
      { provider: d.provider, model: d.model, unit: d.unit, quantity: null, records: 0, days: [], scaled: null };
    if (d.quantity !== null) u.scaled = (u.scaled ?? 0n) + toScaled(String(d.quantity));
    u.records += Number(d.records);
    if (!u.days.includes(d.day)) u.days.push(d.day);
    out.set(k, u);
  }
  return [...out.values()].map(({ scaled, ...u }) => ({
    ...u,
    quantity: scaled === null ? null : money(formatScaled(scaled)),
    days: u.days.sort(),
  }));
}
