/**
 * Money and dates as the pricing tables take them: exact decimal strings (never binary floats on the way to the
 * warehouse) and UTC calendar days. Used by the pricing and subscription APIs and by the seed step.
 */
import { dayFromIso, dayOf, isoDay } from "../time/day.ts";
import { z } from "zod";

/** Most decimals a price may carry (the warehouse stores NUMERIC(38, 9)). */
export const MAX_DECIMALS = 9;
/** Largest amount accepted for a price or a fee. */
export const MAX_AMOUNT = "1000000";

const PLAIN = /^(-?)(\d+)(?:\.(\d+))?$/;
const EXPONENT = /^(-?)(\d+)(?:\.(\d+))?e([+-]?\d+)$/i;
/** The earliest effective day a price or plan may have. */
const MIN_PRICE_DAY = dayFromIso("1900-01-01")!;

/** `"005.500"` -> `"5.5"`, `"2.000000000"` -> `"2"`, `"-0"` -> `"0"`: the shortest exact form. */
export function normaliseDecimal(value: string): string {
  const m = PLAIN.exec(value);
  if (!m) throw new RangeError(`"${value}" is not a decimal string`);
  const whole = m[2]!.replace(/^0+(?=\d)/, "");
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  const body = fraction ? `${whole}.${fraction}` : whole;
  return m[1] && body !== "0" ? `-${body}` : body;
}

/** A JSON number as the decimal string JS prints for it, exponent expanded: `1e-7` -> `"0.0000001"`. */
export function numberToDecimal(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  const text = String(n);
  const m = EXPONENT.exec(text);
  if (!m) return text;
  const [, sign, whole = "", fraction = "", exp] = m;
  const digits = whole + fraction;
  const point = whole.length + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Compares two non-negative normalised decimal strings. */
function compareDecimal(a: string, b: string): number {
  const [aw = "", af = ""] = a.split(".");
  const [bw = "", bf = ""] = b.split(".");
  if (aw.length !== bw.length) return aw.length - bw.length;
  if (aw !== bw) return aw < bw ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const [x, y] = [af.padEnd(width, "0"), bf.padEnd(width, "0")];
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * Checks a price given as a decimal string or a JSON number and returns it normalised, or the reason it is refused.
 * Accepted: non-negative, at most {@link MAX_DECIMALS} decimals, at most `max`.
 */
export function checkAmount(value: unknown, max = MAX_AMOUNT): { value: string } | { error: string } {
  const text = typeof value === "number" ? numberToDecimal(value) : typeof value === "string" ? value : null;
  const m = text === undefined || text === null ? null : PLAIN.exec(text);
  if (!m) return { error: 'must be a decimal string such as "2.50" or a number' };
  if (m[1]) return { error: "must not be negative" };
  if ((m[3] ?? "").length > MAX_DECIMALS) return { error: `must have at most ${MAX_DECIMALS} decimals` };
  const normal = normaliseDecimal(text!);
  if (compareDecimal(normal, max) > 0) return { error: `must be at most ${max}` };
  return { value: normal };
}

/** A zod schema for an amount: a decimal string or number, checked by {@link checkAmount}, output a decimal string. */
export function amount(max = MAX_AMOUNT) {
  const error = (i: { input?: unknown }) =>
    i.input === undefined ? "is required" : "must be a decimal string or a number";
  return z.union([z.string(), z.number()], { error }).transform((v, ctx) => {
    const r = checkAmount(v, max);
    if ("error" in r) {
      ctx.addIssue({ code: "custom", message: r.error });
      return z.NEVER;
    }
    return r.value;
  });
}

/** True for a real calendar day written `YYYY-MM-DD` (between years 1900 and 9999). */
export function isDay(value: string): boolean {
  const d = dayFromIso(value);
  return d !== undefined && d >= MIN_PRICE_DAY;
}

/** A zod schema for a UTC day `YYYY-MM-DD`. */
export const day = z.string().refine(isDay, { message: "must be a date written YYYY-MM-DD" });

/** The UTC day of `now`, `YYYY-MM-DD`. */
export function utcDay(now: Date): string {
  return isoDay(dayOf(now));
}
