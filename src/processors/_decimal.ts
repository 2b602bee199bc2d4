/** Exact decimal money math for the cost processors: BigInt counts of 1e-9, like the warehouse's NUMERIC(38, 9). */

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
