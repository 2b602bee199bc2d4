/**
 * Exact decimal-string helpers for provider amounts. Money never goes through
 * binary floating point here: strings are shifted and normalised digit by digit.
 */

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** True for a plain decimal string such as `"110.00"`, `"-3"`, `"0.5"` (no exponent, no sign `+`). */
export function isDecimalString(value: string): boolean {
  return DECIMAL.test(value);
}

/**
 * Moves the decimal point of a decimal string `places` to the left, exactly:
 * `shiftDecimal("123.45", 2) === "1.2345"`. The result is normalised: no leading
 * zeros, no trailing fractional zeros, no `-0`.
 * @throws {RangeError} when `value` is not a decimal string
 */
export function shiftDecimal(value: string, places: number): string {
  if (!isDecimalString(value)) throw new RangeError(`"${value}" is not a decimal string`);
  if (!Number.isInteger(places) || places < 0) throw new RangeError(`places must be a non-negative integer`);
  const negative = value.startsWith("-");
  const [whole = "", fraction = ""] = (negative ? value.slice(1) : value).split(".");
  const digits = whole.padStart(places + 1, "0") + fraction;
  const point = digits.length - fraction.length - places;
  return normalise(negative, digits.slice(0, point), digits.slice(point));
}

/**
 * Anthropic's cost_report amounts are decimal strings in cents; this gives dollars,
 * exactly: `centsToDollars("123.45") === "1.2345"`.
 * @throws {RangeError} when `cents` is not a decimal string
 */
export function centsToDollars(cents: string): string {
  return shiftDecimal(cents, 2);
}

/**
 * The decimal string of a JSON number as the provider wrote it (the shortest
 * round-trip form), with any exponent expanded: `1e-7` -> `"0.0000001"`.
 * @throws {RangeError} for NaN or Infinity
 */
export function numberToDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return normalise(text.startsWith("-"), ...splitPlain(text.replace(/^-/, "")));
  const [, sign = "", whole = "", fraction = "", exp = "0"] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exp);
  if (point <= 0) return normalise(sign === "-", "0", "0".repeat(-point) + digits);
  if (point >= digits.length) return normalise(sign === "-", digits + "0".repeat(point - digits.length), "");
  return normalise(sign === "-", digits.slice(0, point), digits.slice(point));
}

function splitPlain(text: string): [string, string] {
  const [whole = "0", fraction = ""] = text.split(".");
  return [whole, fraction];
}

function normalise(negative: boolean, whole: string, fraction: string): string {
  const w = whole.replace(/^0+(?=\d)/, "") || "0";
  const f = fraction.replace(/0+$/, "");
  const body = f ? `${w}.${f}` : w;
  return negative && body !== "0" ? `-${body}` : body;
}
