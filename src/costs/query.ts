/**
 * `GET /costs/{org_slug}`: the request's query parameters, checked, and the shape of the summary the cost store
 * (src/central/costs.ts) answers over the unified cost view. Every sum is a NUMERIC(38, 9) SUM in the warehouse, returned as an exact decimal string
 * without trailing zeros ("12.5"), as amounts are everywhere in the API.
 *
 * Currencies are never added together: rows and totals are in the requested `currency` (USD by default); cost
 * in any other currency (DeepSeek bills in CNY, a GCP billing account may bill in EUR) is summed per currency
 * under `other_currencies`, with the same grouping. No exchange rate is applied anywhere.
 */
import { AppError } from "../errors/mod.ts";
import { normaliseDecimal } from "../pricing/decimal.ts";
import { addDays, type Day, DayError, dayOf, EARLIEST_DAY, isoDay, parseDay, parseDayRange } from "../time/day.ts";
import { COST_PROVIDERS, type CostProvider } from "./unified.ts";

/** What `group_by` may name, and the unified column each one groups by. */
export const GROUP_KEYS = {
  provider: "provider",
  service: "service_name",
  model: "model",
  day: "charge_date",
} as const;
export type GroupKey = keyof typeof GROUP_KEYS;

/** Longest range one request may cover, in days. */
export const MAX_RANGE_DAYS = 366;
/** Default and largest `limit` of `format=focus`. */
export const FOCUS_LIMIT = { default: 10_000, max: 50_000 } as const;

const PARAMS = new Set(["start", "end", "group_by", "provider", "currency", "format", "limit", "credits"]);
/** Amounts as the rest of the API writes them: exact, without trailing zeros ("2.5"). */
export const money = (
  v: string | null | undefined,
) => (v === null || v === undefined ? null : normaliseDecimal(String(v)));

/** A request query parameter that cannot be used: a `VALIDATION_ERROR` naming it in `field` and `details.field`. */
export function queryError(field: string, message: string): AppError {
  return new AppError("VALIDATION_ERROR", message, { field, details: { field } });
}

export interface CostsRequest {
  readonly start: string;
  readonly end: string;
  readonly groupBy: readonly GroupKey[];
  readonly provider: CostProvider | null;
  readonly currency: string;
  readonly format: "summary" | "focus";
  readonly limit: number;
  /**
   * format=focus: `netted` (default) shows GCP charges net of their credits, as every total is; `lines` shows them
   * at their gross cost with each credit its own `Credit` row (src/costs/credits.ts). The sums are the same.
   */
  readonly credits: "netted" | "lines";
}

/** `start`/`end` checked as every request day is (src/time/day.ts); `start` defaults to 29 days before `end`. */
function costsRange(query: URLSearchParams, now: Date): { start: string; end: string } {
  const today = dayOf(now);
  try {
    const end = query.get("end") ?? isoDay(today);
    // The default start: 30 days up to `end`, never before the earliest day accepted.
    const fallbackStart = () => isoDay(Math.max(EARLIEST_DAY, addDays(parseDay(end, "end", { today }), -29)) as Day);
    const start = query.get("start") ?? fallbackStart();
    const span = parseDayRange(start, end, { start: "start", end: "end" }, { today, maxDays: MAX_RANGE_DAYS });
    return { start: isoDay(span.start), end: isoDay(span.end) };
  } catch (err) {
    if (err instanceof DayError) throw queryError(err.field, err.message);
    throw err;
  }
}

/**
 * Checks the query: `start`/`end` (default the 30 days up to today UTC), `group_by` (comma-separated or repeated;
 * default `provider`; empty for totals only), `provider`, `currency` (default USD), `format` (summary | focus),
 * `limit` and `credits` (focus only).
 * @throws {AppError} VALIDATION_ERROR naming the first bad parameter
 */
export function parseCostsQuery(query: URLSearchParams, now: Date): CostsRequest {
  for (const name of new Set(query.keys())) {
    if (!PARAMS.has(name)) throw queryError(name, `Unknown query parameter "${name}"`);
    if (name !== "group_by" && query.getAll(name).length > 1) {
      throw queryError(name, `Query parameter "${name}" is given more than once`);
    }
  }
  const { start, end } = costsRange(query, now);

  const format = query.get("format") ?? "summary";
  if (format !== "summary" && format !== "focus") {
    throw queryError("format", `Query parameter "format" must be "summary" or "focus"`);
  }
  const rawGroups = query.getAll("group_by");
  if (format === "focus" && rawGroups.length) {
    throw queryError(
      "group_by",
      `Query parameter "group_by" does not apply to format=focus (one row per charge)`,
    );
  }
  const groupBy: GroupKey[] = [];
  const keys = rawGroups.length ? rawGroups.join(",").split(",").map((k) => k.trim()).filter(Boolean) : ["provider"];
  for (const key of keys) {
    if (!Object.hasOwn(GROUP_KEYS, key)) {
      throw queryError(
        "group_by",
        `Query parameter "group_by": unknown key "${key.slice(0, 40)}"; use ${Object.keys(GROUP_KEYS).join(", ")}`,
      );
    }
    if (!groupBy.includes(key as GroupKey)) groupBy.push(key as GroupKey);
  }

  const provider = query.get("provider");
  if (provider !== null && !(COST_PROVIDERS as readonly string[]).includes(provider)) {
    throw queryError("provider", `Query parameter "provider" must be one of ${COST_PROVIDERS.join(", ")}`);
  }
  const currency = query.get("currency") ?? "USD";
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw queryError("currency", `Query parameter "currency" must be an ISO 4217 code such as "USD"`);
  }
  const rawLimit = query.get("limit");
  if (rawLimit !== null && format !== "focus") {
    throw queryError("limit", `Query parameter "limit" only applies to format=focus`);
  }
  const limit = rawLimit === null ? FOCUS_LIMIT.default : Number(rawLimit);
  if (!/^\d+$/.test(rawLimit ?? "1") || limit < 1 || limit > FOCUS_LIMIT.max) {
    throw queryError("limit", `Query parameter "limit" must be an integer from 1 to ${FOCUS_LIMIT.max}`);
  }
  const credits = query.get("credits") ?? "netted";
  if (credits !== "netted" && credits !== "lines") {
    throw queryError("credits", `Query parameter "credits" must be "netted" or "lines"`);
  }
  if (query.has("credits") && format !== "focus") {
    throw queryError("credits", `Query parameter "credits" only applies to format=focus (totals are always netted)`);
  }
  return { start, end, groupBy, provider: provider as CostProvider | null, currency, format, limit, credits };
}

/** One grouped sum row as the warehouse answers it. */
export interface Aggregate {
  currency: string;
  cost: string | null;
  billed_cost: string | null;
  records: number | string;
  priced: number | string;
  billed: number | string;
  [key: string]: unknown;
}

/** A grouped sum as the API shows it: exact amounts, unpriced and unbilled counts. */
export function shapeRow(a: Aggregate, groupBy: readonly GroupKey[]) {
  const records = Number(a.records);
  return {
    ...Object.fromEntries(groupBy.map((k) => [k, a[k] ?? null])),
    cost: money(a.cost),
    billed_cost: money(a.billed_cost),
    records,
    unpriced_records: records - Number(a.priced),
    unbilled_records: records - Number(a.billed),
  };
}
