/**
 * `GET /costs/{org_slug}/reconciliation`: what Convergence computes from usage (`list_cost`) against what the
 * provider reports (`billed_cost`), per provider, day and currency, and per model where both sides name one. Pure:
 * the cost store (src/central/costs.ts) reads both sides as sums; this module joins, classifies and totals them.
 *
 * - `difference` = billed - list; `relative_difference` = difference / list (null when list is 0 or missing).
 * - `status`: UNPRICED when any usage of the group has no price in force (the list side is incomplete or null);
 *   else UNBILLED when no billed line exists; else MATCHED when |difference| <= max(tolerance_amount,
 *   tolerance x |list|) (defaults 0.01 of the currency and 1%); else OVER (billed more than usage explains) or
 *   UNDER. Billed lines without usage compare against a list of 0.
 * - `reasons` name unpriced models, models used without a billed line, billed lines without usage, and days not
 *   yet final. A day is final once the provider's late data window has passed: GCP days once their invoice month
 *   closed (from the 6th UTC day of the next month), every other provider's from the 3rd day after it (today,
 *   yesterday and the day before are re-pulled and may still change).
 *
 * Sums are exact: decimal strings counted in 1e-9 as the warehouse's NUMERIC(38, 9) holds them.
 */
import { formatScaled, roundDiv, toScaled } from "../processors/_decimal.ts";
import { addDays, dayFromIso, dayOf, isoDay, nextMonthStart } from "../time/day.ts";
import { money, parseCostsQuery, queryError } from "./query.ts";
import type { CostProvider } from "./unified.ts";

export const STATUSES = ["MATCHED", "OVER", "UNDER", "UNPRICED", "UNBILLED"] as const;
export type Status = typeof STATUSES[number];

/** How far apart the two sides may be and still match. */
export interface Tolerance {
  /** Fraction of |list_cost|, e.g. "0.01" for 1%. */
  readonly relative: string;
  /** Amount of the currency, e.g. "0.01". */
  readonly amount: string;
}
export const DEFAULT_TOLERANCE: Tolerance = { relative: "0.01", amount: "0.01" };

/** Usage priced by Convergence, summed per provider, day, model and currency. */
export interface ListSum {
  readonly provider: string;
  readonly day: string;
  readonly model: string | null;
  readonly currency: string;
  /** Sum of the priced rows; null when none is priced. */
  readonly list_cost: string | null;
  readonly records: number;
  readonly unpriced_records: number;
}

/** Provider-reported amounts, summed per provider, day, model (null when the line names none) and currency. */
export interface BilledSum {
  readonly provider: string;
  readonly day: string;
  readonly model: string | null;
  readonly currency: string;
  readonly billed_cost: string;
}

export type ReasonCode = "UNPRICED_MODELS" | "USAGE_WITHOUT_BILLED_LINE" | "BILLED_WITHOUT_USAGE" | "NOT_FINAL";
export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly models: readonly string[];
}

export interface Comparison {
  list_cost: string | null;
  billed_cost: string | null;
  difference: string | null;
  relative_difference: string | null;
  status: Status;
}

const SCALE = 1_000_000_000n;
const abs = (n: bigint) => (n < 0n ? -n : n);
const sumOf = (xs: readonly (string | null)[]): bigint | null => {
  const present = xs.filter((x): x is string => x !== null);
  return present.length ? present.reduce((a, x) => a + toScaled(x), 0n) : null;
};
const out = (n: bigint | null) => (n === null ? null : money(formatScaled(n)));

/**
 * Classifies one pair of sums (decimal strings; null = that side has nothing).
 * @example classify({ list: "100", billed: "100.9", unpriced: false }) // status MATCHED (within 1%)
 */
export function classify(
  side: { list: string | null; billed: string | null; unpriced: boolean },
  tolerance: Tolerance = DEFAULT_TOLERANCE,
): Comparison {
  const list = side.list === null ? null : toScaled(side.list);
  const billed = side.billed === null ? null : toScaled(side.billed);
  const diff = billed === null ? null : billed - (list ?? 0n);
  const relative = diff === null || list === null || list === 0n ? null : roundDiv(diff * SCALE, list);
  let status: Status;
  if (side.unpriced) status = "UNPRICED";
  else if (diff === null) status = "UNBILLED";
  else {
    const base = list === null ? 0n : abs(list);
    const allowed = [toScaled(tolerance.amount), roundDiv(base * toScaled(tolerance.relative), SCALE)];
    status = abs(diff) <= (allowed[0]! > allowed[1]! ? allowed[0]! : allowed[1]!)
      ? "MATCHED"
      : diff > 0n
      ? "OVER"
      : "UNDER";
  }
  return {
    list_cost: out(list),
    billed_cost: out(billed),
    difference: out(diff),
    relative_difference: out(relative),
    status,
  };
}

/** Whether a day's amounts can still change (see the module doc), given today's UTC day. */
export function isFinal(provider: string, day: string, today: string): boolean {
  const d = dayFromIso(day)!;
  const t = dayFromIso(today)!;
  if (provider === "gcp") return t >= addDays(nextMonthStart(d), 5);
  return t >= addDays(d, 3);
}

/** The rule of {@link isFinal}, as the response states it. */
export const FINAL_RULE = "GCP days are final from the 6th UTC day of the month after theirs (the invoice month " +
  "closed); other providers' days from the 3rd day after them (today, yesterday and the day before are re-pulled)";

export interface ReconciledModel extends Comparison {
  model: string;
  reasons: Reason[];
}
export interface ReconciledDay extends Comparison {
  provider: string;
  day: string;
  currency: string;
  final: boolean;
  reasons: Reason[];
  models: ReconciledModel[];
}
export interface ProviderTotal extends Comparison {
  provider: string;
  currency: string;
  days: Record<Status, number>;
}

const key = (...parts: (string | null)[]) => JSON.stringify(parts);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const reason = (code: ReasonCode, message: string, models: string[] = []): Reason => ({ code, message, models });
const named = (models: string[]) => models.map((m) => `"${m}"`).join(", ");

/** The reasons and comparison of one group of list and billed sums. */
function compare(list: readonly ListSum[], billed: readonly BilledSum[], tolerance: Tolerance) {
  const unpriced = sorted(list.filter((l) => l.unpriced_records > 0).map((l) => l.model ?? "(no model)"));
  const comparison = classify({
    list: list.length ? out(sumOf(list.map((l) => l.list_cost))) : null,
    billed: billed.length ? out(sumOf(billed.map((b) => b.billed_cost))) : null,
    unpriced: unpriced.length > 0,
  }, tolerance);
  const reasons: Reason[] = [];
  if (unpriced.length) {
    reasons.push(reason("UNPRICED_MODELS", `Usage without a price in force: ${named(unpriced)}`, unpriced));
  }
  return { comparison, reasons };
}

/**
 * Joins the two sides per provider, day and currency (with a row per model when both sides name models), and
 * totals them per provider and currency for the period. `today` is the UTC day the finality rule is measured from.
 */
export function reconcile(
  list: readonly ListSum[],
  billed: readonly BilledSum[],
  opts: { today: string; tolerance?: Tolerance },
): { rows: ReconciledDay[]; totals: ProviderTotal[] } {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const groups = new Map<string, { list: ListSum[]; billed: BilledSum[] }>();
  const group = (g: { provider: string; day: string; currency: string }) => {
    const k = key(g.provider, g.day, g.currency);
    const found = groups.get(k) ?? { list: [], billed: [] };
    groups.set(k, found);
    return found;
  };
  for (const l of list) group(l).list.push(l);
  for (const b of billed) group(b).billed.push(b);

  const rows = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, g]) => {
    const [provider, day, currency] = JSON.parse(k) as [string, string, string];
    const { comparison, reasons } = compare(g.list, g.billed, tolerance);
    const used = sorted(g.list.flatMap((l) => (l.model === null ? [] : [l.model])));
    const charged = sorted(g.billed.flatMap((b) => (b.model === null ? [] : [b.model])));
    const models: ReconciledModel[] = [];
    if (used.length && charged.length) {
      for (const model of sorted([...used, ...charged])) {
        const m = compare(
          g.list.filter((l) => l.model === model),
          g.billed.filter((b) => b.model === model),
          tolerance,
        );
        models.push({ model, ...m.comparison, reasons: m.reasons });
      }
    }
    const unbilled = charged.length ? used.filter((m) => !charged.includes(m)) : [];
    if (!g.billed.length && g.list.length) {
      reasons.push(reason("USAGE_WITHOUT_BILLED_LINE", "Usage without any billed line on the day", used));
    } else if (unbilled.length) {
      reasons.push(reason("USAGE_WITHOUT_BILLED_LINE", `Usage without a billed line: ${named(unbilled)}`, unbilled));
    }
    const orphan = used.length ? charged.filter((m) => !used.includes(m)) : [];
    if (!g.list.length && g.billed.length) {
      reasons.push(reason("BILLED_WITHOUT_USAGE", "Billed lines without any usage on the day", charged));
    } else if (orphan.length) {
      reasons.push(reason("BILLED_WITHOUT_USAGE", `Billed lines without usage: ${named(orphan)}`, orphan));
    }
    const final = isFinal(provider, day, opts.today);
    if (!final) reasons.push(reason("NOT_FINAL", "Day not yet final: the provider may still add or restate amounts"));
    return { provider, day, currency, ...comparison, final, reasons, models };
  });

  const totals = new Map<string, ReconciledDay[]>();
  for (const r of rows) {
    totals.set(key(r.provider, r.currency), [...(totals.get(key(r.provider, r.currency)) ?? []), r]);
  }
  return {
    rows,
    totals: [...totals.entries()].map(([k, days]) => {
      const [provider, currency] = JSON.parse(k) as [string, string];
      const counts = Object.fromEntries(STATUSES.map((s) => [s, days.filter((d) => d.status === s).length]));
      const lists = days.map((d) => d.list_cost);
      const bills = days.map((d) => d.billed_cost);
      return {
        provider,
        currency,
        ...classify({
          list: lists.some((x) => x !== null) ? out(sumOf(lists)) : null,
          billed: bills.some((x) => x !== null) ? out(sumOf(bills)) : null,
          unpriced: days.some((d) => d.status === "UNPRICED"),
        }, tolerance),
        days: counts as Record<Status, number>,
      };
    }),
  };
}

/** The model a billed line belongs to: OpenAI names it first in its line item ("gpt-4o-2024-08-06, input"), or none. */
export function modelOfLine(provider: string, label: string | null): string | null {
  if (label === null || label === "") return null;
  if (provider !== "openai") return label;
  // A line without a comma bills usage that has no model (vector storage, code interpreter sessions, file search).
  return label.includes(",") ? label.split(",")[0]!.trim() || null : null;
}

const CSV_COLUMNS = [
  "provider",
  "day",
  "model",
  "currency",
  "list_cost",
  "billed_cost",
  "difference",
  "relative_difference",
  "status",
  "final",
  "reasons",
] as const;

const cell = (v: unknown) => {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** The rows as CSV with a header row: one line per day, then one per model of that day (`model` filled in). */
export function toCsv(rows: readonly ReconciledDay[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  const line = (r: Record<string, unknown>) => lines.push(CSV_COLUMNS.map((c) => cell(r[c])).join(","));
  for (const r of rows) {
    const messages = (rs: readonly Reason[]) => rs.map((x) => x.message).join("; ");
    line({ ...r, model: null, reasons: messages(r.reasons) });
    for (const m of r.models) {
      line({
        ...m,
        provider: r.provider,
        day: r.day,
        currency: r.currency,
        final: r.final,
        reasons: messages(m.reasons),
      });
    }
  }
  return lines.join("\r\n") + "\r\n";
}

export interface ReconciliationRequest {
  readonly start: string;
  readonly end: string;
  readonly provider: CostProvider | null;
  readonly format: "json" | "csv";
  readonly tolerance: Tolerance;
  readonly today: string;
}

const FRACTION = /^(0(\.\d{1,9})?|1(\.0{1,9})?)$/;
const AMOUNT = /^\d{1,7}(\.\d{1,9})?$/;

/**
 * Checks the reconciliation query: `start`/`end`/`provider` as `GET /costs` checks them, `format` (json | csv),
 * `tolerance` (a fraction from 0 to 1, default 0.01) and `tolerance_amount` (an amount, default 0.01).
 * @throws {AppError} VALIDATION_ERROR naming the first bad parameter
 */
export function parseReconciliationQuery(
  query: URLSearchParams,
  now: Date,
): ReconciliationRequest {
  const known = new Set(["start", "end", "provider", "format", "tolerance", "tolerance_amount"]);
  for (const name of new Set(query.keys())) {
    if (!known.has(name)) throw queryError(name, `Unknown query parameter "${name}"`);
    if (query.getAll(name).length > 1) throw queryError(name, `Query parameter "${name}" is given more than once`);
  }
  const format = query.get("format") ?? "json";
  if (format !== "json" && format !== "csv") {
    throw queryError("format", `Query parameter "format" must be "json" or "csv"`);
  }
  const relative = query.get("tolerance") ?? DEFAULT_TOLERANCE.relative;
  if (!FRACTION.test(relative)) {
    throw queryError("tolerance", `Query parameter "tolerance" must be a fraction from 0 to 1, such as "0.01" (1%)`);
  }
  const amount = query.get("tolerance_amount") ?? DEFAULT_TOLERANCE.amount;
  if (!AMOUNT.test(amount)) {
    throw queryError("tolerance_amount", `Query parameter "tolerance_amount" must be an amount such as "0.01"`);
  }
  const range = new URLSearchParams([...query].filter(([k]) => ["start", "end", "provider"].includes(k)));
  const { start, end, provider } = parseCostsQuery(range, now);
  return {
    start,
    end,
    provider,
    format,
    tolerance: { relative: money(relative)!, amount: money(amount)! },
    today: isoDay(dayOf(now)),
  };
}
