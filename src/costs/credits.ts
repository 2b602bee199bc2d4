/**
 * GCP credits as their own FOCUS lines (`GET /costs?format=focus&credits=lines`). Every total nets credits into the
 * charge they apply to (net cost = cost + credits, credits negative), as the Cloud Billing export does; a FOCUS
 * consumer that wants them apart (FOCUS 1.2: "credits applied after the fact MUST use a ChargeCategory of Credit")
 * gets each charge at its gross cost followed by one `Credit` row per credit, whose ListCost, EffectiveCost and
 * BilledCost all equal the credit's amount (FOCUS: a charge unrelated to others MUST have them match BilledCost).
 *
 * The gross amounts are the net ones minus the credit rows as written, so the charge and its credits always add up
 * to the netted amount exactly, whatever the credits' rounding.
 */
import { formatScaled, toScaled } from "../processors/_decimal.ts";
import { normaliseDecimal, numberToDecimal } from "../pricing/decimal.ts";
import { toFocusRow, type UnifiedRow } from "./unified.ts";

/** The view's extra column with the credits netted into a row's costs (JSON `[{name, amount, type, ...}]`). */
export const CREDITS_COLUMN = "x_credits";

export interface CreditColumns {
  readonly [CREDITS_COLUMN]?: unknown;
}

interface Credit {
  readonly name: string | null;
  readonly type: string | null;
  readonly amount: bigint;
}

/** A JSON amount (a number, or a decimal string) as a count of 1e-9; null when it is not a finite amount. */
function scaledAmount(v: unknown): bigint | null {
  if (typeof v === "number") {
    const text = numberToDecimal(v);
    return text === undefined ? null : toScaled(text);
  }
  return typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim()) ? toScaled(v) : null;
}

/** The non-zero credits of a row's credit list (anything but a list of `{amount}` objects has none). */
function creditsOf(value: unknown): Credit[] {
  const list = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(list)) return [];
  return list.flatMap((c) => {
    if (!c || typeof c !== "object") return [];
    const amount = scaledAmount((c as { amount?: unknown }).amount);
    if (amount === null || amount === 0n) return [];
    const text = (k: string) => (typeof c[k] === "string" && c[k] !== "" ? String(c[k]) : null);
    return [{ name: text("full_name") ?? text("name"), type: text("type"), amount }];
  });
}

const minus = (v: string | number | null, credits: bigint) =>
  v === null ? null : formatScaled(toScaled(String(v)) - credits);

/**
 * A unified row as FOCUS rows: the row itself when it nets no credit, else the row at its gross cost (effective and
 * billed cost minus its credits) followed by one `Credit` row per credit (`x_CreditName`, `x_CreditType`).
 */
export function withCreditLines(row: UnifiedRow & CreditColumns): Record<string, unknown>[] {
  const credits = creditsOf(row[CREDITS_COLUMN]);
  const base = toFocusRow(row);
  if (credits.length === 0) return [{ ...base, x_CreditName: null, x_CreditType: null }];
  const total = credits.reduce((a, c) => a + c.amount, 0n);
  const gross = toFocusRow({
    ...row,
    effective_cost: minus(row.effective_cost, total),
    billed_cost: minus(row.billed_cost, total),
  });
  return [
    { ...gross, x_CreditName: null, x_CreditType: null },
    ...credits.map((c) => {
      const amount = normaliseDecimal(formatScaled(c.amount));
      return {
        ...base,
        ChargeCategory: "Credit",
        ConsumedQuantity: null,
        ConsumedUnit: null,
        ListCost: amount,
        EffectiveCost: amount,
        BilledCost: amount,
        x_CreditName: c.name,
        x_CreditType: c.type,
      };
    }),
  ];
}
