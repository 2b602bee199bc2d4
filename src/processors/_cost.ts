/**
 * Shared by the LLM usage and cost processors: exact decimal money math (BigInt, 9 decimals like the warehouse's
 * NUMERIC), the org's effective-dated model prices (organizations.org_model_pricing) with model-id matching, UTC
 * day ranges, and provider calls bound to the run (abort signal, retry logs, errors that name the page).
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { ProviderHttpOptions } from "../providers/mod.ts";
import { ProviderError } from "../providers/mod.ts";
import { qualified, type Warehouse } from "../warehouse/warehouse.ts";
import { type ProcessorContext } from "./context.ts";
import {
  addDays,
  type Day,
  dayFromIso,
  dayOf,
  daysInRange,
  isoDay,
  MAX_RANGE_DAYS,
  parseIsoDay,
  startOfDay,
} from "../time/day.ts";
import { AppError } from "../errors/mod.ts";

// ---- exact decimals ----------------------------------------------------------------------------------------------

/** Decimals of every stored amount (NUMERIC / DECIMAL(38, 9)). */
export const SCALE = 9;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** `n / d` rounded half away from zero (d > 0). */
export function roundDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  return twice >= d ? q + (n < 0n ? -1n : 1n) : q;
}

/**
 * A decimal string as an integer count of 1e-9, rounded half away from zero beyond 9 decimals.
 * @throws {RangeError} for anything but a plain decimal string
 */
export function toScaled(value: string): bigint {
  let scaled = SCALED.get(value);
  if (scaled === undefined) {
    scaled = parseScaled(value);
    if (SCALED.size >= 4096) SCALED.clear();
    SCALED.set(value, scaled);
  }
  return scaled;
}

/** Parsed prices, by text: a run prices many rows at the same few prices. */
const SCALED = new Map<string, bigint>();

function parseScaled(value: string): bigint {
  const m = DECIMAL.exec(value.trim());
  if (!m) throw new RangeError(`"${value}" is not a decimal string`);
  const fraction = m[3] ?? "";
  const digits = BigInt(m[2]! + fraction);
  const scaled = fraction.length <= SCALE
    ? digits * 10n ** BigInt(SCALE - fraction.length)
    : roundDiv(digits, 10n ** BigInt(fraction.length - SCALE));
  return m[1] ? -scaled : scaled;
}

/** An integer count of 1e-9 as a decimal string with exactly 9 decimals: `1500000000n` -> `"1.500000000"`. */
export function formatScaled(scaled: bigint): string {
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(SCALE + 1, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -SCALE)}.${digits.slice(-SCALE)}`;
}

/** The exact sum of decimal strings, 9 decimals. */
export function sumDecimals(values: readonly string[]): string {
  return formatScaled(values.reduce((acc, v) => acc + toScaled(v), 0n));
}

/** A multiplier kept exact as a fraction, e.g. the Batch API's half price `{ num: 1n, den: 2n }`. */
export interface Factor {
  readonly num: bigint;
  readonly den: bigint;
}
export const FULL_PRICE: Factor = { num: 1n, den: 1n };

/** A price per 1M tokens times a factor, rounded to 9 decimals (the price shown next to a discounted cost). */
export function appliedPrice(pricePer1m: string, factor: Factor = FULL_PRICE): string {
  const key = `${factor.num}/${factor.den} ${pricePer1m}`;
  let applied = APPLIED.get(key);
  if (applied === undefined) {
    applied = formatScaled(roundDiv(toScaled(pricePer1m) * factor.num, factor.den));
    if (APPLIED.size >= 4096) APPLIED.clear();
    APPLIED.set(key, applied);
  }
  return applied;
}

const APPLIED = new Map<string, string>();

/** A token class and the price per 1M tokens it is charged at. */
export interface TokenCharge {
  readonly tokens: bigint;
  readonly pricePer1m: string;
}

/**
 * `sum(tokens x price / 1e6) x factor`, computed exactly and rounded once to 9 decimals (half away from zero).
 * Prices carry at most 9 decimals, so `tokens x price(1e-9 units)` is an exact count of 1e-15 dollars.
 * @example tokenCost([{ tokens: 1_000_000n, pricePer1m: "2.50" }, { tokens: 500_000n, pricePer1m: "1.25" }]) // "3.125000000"
 */
export function tokenCost(charges: readonly TokenCharge[], factor: Factor = FULL_PRICE): string {
  const femto = charges.reduce((acc, c) => acc + c.tokens * toScaled(c.pricePer1m), 0n);
  return formatScaled(roundDiv(femto * factor.num, 1_000_000n * factor.den));
}

/** An INT64 as read from the warehouse (a number, or a string beyond 2^53) as a bigint; null is 0. */
export function int(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === "bigint") return value;
  return BigInt(typeof value === "number" ? Math.trunc(value) : String(value));
}

/** A bigint count back to what an INT64 column takes: a number when safe, else a digit string. */
export function intOut(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// ---- effective-dated prices --------------------------------------------------------------------------------------

/** One org_model_pricing version; amounts are decimal strings, days `YYYY-MM-DD`. */
export interface ModelPrice {
  readonly model_id: string;
  readonly input_per_1m: string;
  readonly cached_input_per_1m: string | null;
  readonly cache_write_5m_per_1m: string | null;
  readonly cache_write_1h_per_1m: string | null;
  readonly output_per_1m: string;
  readonly currency: string;
  readonly effective_from: string;
  readonly effective_to: string | null;
}

/** The org's price versions of `provider` in force on any day of `range` (parameterised SQL). */
export async function loadPrices(
  wh: Warehouse,
  orgSlug: string,
  provider: "openai" | "anthropic" | "deepseek",
  range: DayRange,
): Promise<ModelPrice[]> {
  return await wh.query<ModelPrice>(
    `SELECT model_id, input_per_1m, cached_input_per_1m, cache_write_5m_per_1m, cache_write_1h_per_1m, output_per_1m,
       currency, effective_from, effective_to
     FROM ${qualified(CENTRAL_DATASET, "org_model_pricing")}
     WHERE org_slug = @org_slug AND provider = @provider AND effective_from <= CAST(@to AS DATE)
       AND (effective_to IS NULL OR effective_to > CAST(@from AS DATE))
     ORDER BY model_id, effective_from`,
    { org_slug: orgSlug, provider, from: range.from, to: range.to },
  );
}

const SNAPSHOT_SUFFIXES = [/-\d{4}-\d{2}-\d{2}$/, /-\d{8}$/, /-\d{4}$/];

/**
 * The price ids to try for a reported model id, best first: the exact id, then the id without its date-snapshot
 * suffix (`-YYYY-MM-DD`, `-YYYYMMDD` or `-MMDD`): `gpt-4o-2024-08-06` -> `["gpt-4o-2024-08-06", "gpt-4o"]`.
 */
export function modelCandidates(model: string): string[] {
  const suffix = SNAPSHOT_SUFFIXES.find((re) => re.test(model));
  const stripped = suffix ? model.replace(suffix, "") : model;
  return stripped && stripped !== model ? [model, stripped] : [model];
}

/** A price version with its effective days as values. */
interface DatedPrice {
  readonly price: ModelPrice;
  readonly from: Day;
  readonly to: Day | null;
}

/** A stored day (DATE read as text) as a value. @throws {Error} for anything but `YYYY-MM-DD` */
function storedDay(text: string, what: string): Day {
  const day = dayFromIso(String(text).slice(0, 10));
  if (day === undefined) throw new Error(`${what} ${JSON.stringify(text)} is not a day written YYYY-MM-DD`);
  return day;
}

/** Prices by model id; `find` answers the version in force on a day (`effective_from <= day < effective_to`). */
export class PriceBook {
  readonly #byModel = new Map<string, DatedPrice[]>();
  readonly #candidates = new Map<string, string[]>();
  #lastDay: { text: string; day: Day } | undefined;

  constructor(prices: readonly ModelPrice[]) {
    for (const p of prices) {
      const list = this.#byModel.get(p.model_id) ?? [];
      const what = `Price of "${p.model_id}": effective`;
      const to = p.effective_to === null ? null : storedDay(p.effective_to, `${what}_to`);
      list.push({ price: p, from: storedDay(p.effective_from, `${what}_from`), to });
      this.#byModel.set(p.model_id, list);
    }
  }

  /** The price of `model` on `day`: an exact-id version in force wins over the stripped id's; else undefined. */
  find(model: string, day: string | Day): ModelPrice | undefined {
    const at = typeof day === "number" ? day : this.#dayOf(day);
    let ids = this.#candidates.get(model);
    if (ids === undefined) this.#candidates.set(model, ids = modelCandidates(model));
    for (const id of ids) {
      const hit = this.#byModel.get(id)?.find((p) => p.from <= at && (p.to === null || at < p.to));
      if (hit) return hit.price;
    }
    return undefined;
  }

  /** Rows come grouped by day: the last day parsed is kept. */
  #dayOf(text: string): Day {
    if (this.#lastDay?.text !== text) this.#lastDay = { text, day: storedDay(text, "Usage day") };
    return this.#lastDay.day;
  }
}

// ---- UTC days ----------------------------------------------------------------------------------------------------

/** Inclusive UTC days `YYYY-MM-DD`, the form steps return, log and bind in SQL. */
export interface DayRange {
  readonly from: string;
  readonly to: string;
}

/** A range checked by {@link dayRange}: the days also as values, for every comparison and loop. */
export interface CheckedRange extends DayRange {
  readonly first: Day;
  readonly last: Day;
}

/** The UTC day of an instant in milliseconds, `YYYY-MM-DD`. */
export const utcDayOf = (ms: number): string => isoDay(dayOf(new Date(ms)));

/** `day` parsed; a malformed day is a `VALIDATION_ERROR` (DayError) naming `field`. */
function dayValue(value: string, field: string): Day {
  return parseIsoDay(value, field);
}

/**
 * Checks the step's `start_date`/`end_date` and returns them as a range.
 * @throws {AppError} VALIDATION_ERROR for a malformed day, an end before the start or more than 366 days
 */
export function dayRange(start: string, end: string): CheckedRange {
  const first = dayValue(start, "start_date");
  const last = dayValue(end, "end_date");
  if (last < first) {
    throw new AppError("VALIDATION_ERROR", `Field "end_date" (${end}) is before "start_date" (${start})`);
  }
  const days = daysInRange(first, last);
  if (days > MAX_RANGE_DAYS) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "end_date": a run covers at most ${MAX_RANGE_DAYS} days, not ${days}`,
    );
  }
  return { from: isoDay(first), to: isoDay(last), first, last };
}

/** Whether `day` lies inside `range`. */
export function inRange(day: Day, range: CheckedRange): boolean {
  return day >= range.first && day <= range.last;
}

/** `range` cut into consecutive windows of at most `days` days, in order. */
export function dayWindows(range: CheckedRange, days: number): CheckedRange[] {
  if (!(Number.isInteger(days) && days > 0)) {
    throw new RangeError(`A window covers a whole number of days, not ${days}`);
  }
  const out: CheckedRange[] = [];
  for (let first = range.first; first <= range.last; first = addDays(first, days)) {
    const last = addDays(first, days - 1) < range.last ? addDays(first, days - 1) : range.last;
    out.push({ from: isoDay(first), to: isoDay(last), first, last });
  }
  return out;
}

/** The FOCUS charge period of a UTC day: `[day 00:00, next day 00:00)`. */
export function chargePeriod(day: string): { charge_period_start: string; charge_period_end: string } {
  if (lastPeriod?.day !== day) {
    const value = dayValue(day, "usage_date");
    lastPeriod = {
      day,
      period: {
        charge_period_start: startOfDay(value).toISOString(),
        charge_period_end: startOfDay(addDays(value, 1)).toISOString(),
      },
    };
  }
  return { ...lastPeriod.period };
}

/** The last day asked for (rows come grouped by day). */
let lastPeriod: { day: string; period: { charge_period_start: string; charge_period_end: string } } | undefined;

/**
 * `columns` of the rows of `dataset.table` whose `usage_date` lies in `range` (parameterised SQL);
 * no rows when the table does not exist yet.
 */
export async function readDays<T>(
  wh: Warehouse,
  dataset: string,
  table: string,
  columns: string,
  range: DayRange,
): Promise<T[]> {
  if (!await wh.tableExists(dataset, table)) return [];
  return await queryDays<T>(wh, dataset, table, columns, range);
}

/** `readDays` of a table known to exist. */
export async function queryDays<T>(
  wh: Warehouse,
  dataset: string,
  table: string,
  columns: string,
  range: DayRange,
): Promise<T[]> {
  return await wh.query<T>(
    `SELECT ${columns} FROM ${qualified(dataset, table)}
     WHERE usage_date >= CAST(@from AS DATE) AND usage_date <= CAST(@to AS DATE)`,
    { from: range.from, to: range.to },
  );
}

// ---- the run -----------------------------------------------------------------------------------------------------

/** The org a data step runs for. @throws {Error} outside an org run */
export function orgOf(ctx: ProcessorContext): { slug: string; dataset: string } {
  if (!ctx.org) throw new Error(`Step "${ctx.step.id}" needs an org`);
  return ctx.org;
}

/** The org and the decrypted credential of a data run. @throws {Error} outside a run with an integration */
export function runScope(ctx: ProcessorContext): { org: { slug: string; dataset: string }; credential: string } {
  const org = orgOf(ctx);
  const credential = ctx.state.get("credential");
  if (typeof credential !== "string") throw new Error(`Step "${ctx.step.id}" has no decrypted credential`);
  return { org, credential };
}

/** Transport options that tie provider calls to the run: aborts with `ctx.signal`, logs every retry. */
export function providerOptions(ctx: ProcessorContext): ProviderHttpOptions {
  const signal = ctx.signal;
  return {
    fetch: (input, init) => {
      const own = init?.signal ?? undefined;
      return fetch(input, { ...init, signal: own && signal ? AbortSignal.any([own, signal]) : own ?? signal ?? null });
    },
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal!.reason);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms);
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    onRetry: (r) =>
      ctx.logger.warn("provider call retried", {
        provider: r.provider,
        endpoint: r.endpoint,
        attempt: r.attempt,
        delay_ms: r.delayMs,
        error: r.error.message,
      }),
  };
}

/** A failed page as the step reports it: a 502 naming what and which page; an abort of the run as is. */
function pageFailure(ctx: ProcessorContext, what: string, page: number, err: unknown): unknown {
  if (ctx.signal?.aborted) return ctx.signal.reason;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof ProviderError ? "PROVIDER_ERROR" : "STEP_FAILED";
  return new AppError(code, `Fetching ${what} page ${page} failed: ${message}`, { cause: err });
}

/**
 * Every page of a provider listing. A failure becomes a 502 `PROVIDER_ERROR` naming what was fetched, the page,
 * and (through the provider error) the provider and endpoint; an abort of the run is rethrown as is.
 */
export async function allPages<P>(ctx: ProcessorContext, what: string, pages: AsyncIterable<P>): Promise<P[]> {
  const out: P[] = [];
  try {
    for await (const page of pages) {
      out.push(page);
      if (ctx.signal?.aborted) throw ctx.signal.reason;
    }
  } catch (err) {
    throw pageFailure(ctx, what, out.length + 1, err);
  }
  ctx.logger.info("provider pages fetched", { what, pages: out.length });
  return out;
}

/**
 * A provider listing as a stream of row batches, one per page, so a step holds at most two pages, never its whole
 * range. The first page is fetched before this returns: a provider that refuses the call fails the step before any
 * write begins. While the rows of one page are written, the next page is already being fetched. Failures are
 * reported as in {@link allPages}.
 */
export async function pageBatches<P, R>(
  ctx: ProcessorContext,
  what: string,
  pages: AsyncIterable<P>,
  toRows: (page: P) => R[],
): Promise<AsyncIterable<R[]>> {
  const it = pages[Symbol.asyncIterator]();
  let fetched = 0;
  const next = async (): Promise<IteratorResult<P, unknown>> => {
    try {
      const r = await it.next();
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (!r.done) fetched++;
      return r;
    } catch (err) {
      throw pageFailure(ctx, what, fetched + 1, err);
    }
  };
  const first = await next();
  async function* batches(): AsyncGenerator<R[]> {
    let rows = 0;
    let current = first;
    let finished = false;
    try {
      while (!current.done) {
        const ahead = next();
        ahead.catch(() => {}); // awaited below; left unawaited only when the consumer stops early
        // One turn of the event loop sends the request, so the provider works on the next page while this one is
        // written (network I/O only moves while this thread is not busy).
        await new Promise((resolve) => setTimeout(resolve, 0));
        const batch = toRows(current.value);
        rows += batch.length;
        yield batch;
        current = await ahead;
      }
      finished = true;
      ctx.logger.info("provider pages fetched", { what, pages: fetched, rows });
    } finally {
      // The consumer stopped early: end the listing once any page in flight has arrived.
      if (!finished) Promise.resolve(it.return?.()).catch(() => {});
    }
  }
  return batches();
}
