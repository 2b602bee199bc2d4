/**
 * Data-quality checks on a step's output rows, evaluated before anything is committed. Rows may arrive in batches
 * (`CheckRun`): counts accumulate and `unique` remembers every key seen, so the outcome over a stream equals the
 * outcome over the same rows at once.
 */
import type { CheckDef } from "./module.ts";

export interface CheckOutcome {
  readonly check: CheckDef;
  readonly passed: boolean;
  readonly observed: number;
  readonly message: string;
}

function isNegative(v: unknown): boolean {
  if (typeof v === "number") return v < 0;
  if (typeof v === "bigint") return v < 0n;
  if (typeof v === "string") return /^\s*-\s*\d*\.?\d*[1-9]/.test(v);
  return false;
}

/** Distinct `report_by` values the message of a failing check names, at most this many. */
export const REPORTED_VALUES = 10;

/** ` (model: "a", "b")`: the `report_by` values of a failing check, sorted, at most {@link REPORTED_VALUES}. */
function named(check: CheckDef, observed: number, reported: readonly string[]): string {
  if (!check.reportBy?.length || observed === 0 || reported.length === 0) return "";
  const values = [...reported].sort();
  const more = values.length > REPORTED_VALUES ? ", ..." : "";
  return ` (${check.reportBy.join("/")}: ${values.slice(0, REPORTED_VALUES).join(", ")}${more})`;
}

/**
 * The outcome of `check` from what it observed: the rows (min_rows), the rows failing it (not_null,
 * non_negative) or the duplicate rows (unique). Shared by the row tallies below and checks counted in SQL.
 */
export function outcomeOf(check: CheckDef, observed: number, reported: readonly string[] = []): CheckOutcome {
  const cols = (check.columns ?? []).join(", ");
  switch (check.check) {
    case "min_rows": {
      const min = check.value ?? 1;
      return { check, observed, passed: observed >= min, message: `${observed} rows (minimum ${min})` };
    }
    case "unique":
      return { check, observed, passed: observed === 0, message: `${observed} duplicate rows on ${cols}` };
    case "not_null":
    case "non_negative": {
      const what = check.check === "not_null" ? "a null in" : "a negative";
      const message = `${observed} rows with ${what} ${cols}${named(check, observed, reported)}`;
      return { check, observed, passed: observed === 0, message };
    }
  }
}

/** One check's running state. */
interface Tally {
  add(rows: readonly Record<string, unknown>[]): void;
  finish(): CheckOutcome;
}

function tally(check: CheckDef): Tally {
  const cols = check.columns ?? [];
  switch (check.check) {
    case "min_rows": {
      let n = 0;
      return { add: (rows) => void (n += rows.length), finish: () => outcomeOf(check, n) };
    }
    case "not_null":
      return rowsFailing(check, cols, (v) => v === null || v === undefined);
    case "non_negative":
      return rowsFailing(check, cols, isNegative);
    case "unique": {
      const keys = new UniqueKeys(cols.length);
      const tuple = new Array<unknown>(cols.length);
      let dup = 0;
      return {
        add(rows) {
          for (const r of rows) {
            for (let c = 0; c < cols.length; c++) tuple[c] = r[cols[c]!];
            if (!keys.add(tuple)) dup++;
          }
        },
        finish: () => {
          keys.clear();
          return outcomeOf(check, dup);
        },
      };
    }
  }
}

/**
 * Counts the rows where any of `cols` is `bad`; the check passes when there are none. With `report_by`, the outcome
 * also names the distinct values of those columns among the failing rows (e.g. which models have no price).
 */
function rowsFailing(check: CheckDef, cols: readonly string[], bad: (v: unknown) => boolean): Tally {
  let failing = 0;
  const by = check.reportBy ?? [];
  const seen = new Set<string>();
  return {
    add(rows) {
      for (const r of rows) {
        for (const c of cols) {
          if (bad(r[c])) {
            failing++;
            if (by.length && seen.size <= REPORTED_VALUES) {
              seen.add(by.map((k) => JSON.stringify(r[k] ?? null)).join("/"));
            }
            break;
          }
        }
      }
    },
    finish: () => outcomeOf(check, failing, [...seen]),
  };
}

/**
 * Remembers tuples exactly and compactly. Each column's distinct values get small ids; a tuple whose ids all fit
 * in `52 / width` bits is kept as one number (ids in mixed radix), any other as a short string of its ids (one
 * UTF-16 unit per id below 0xffff, else 0xffff and two units: a prefix-free code). Which form a tuple takes depends
 * only on its ids, so two distinct tuples never share a key. Values compare as JSON would: undefined, NaN and
 * Infinity as null.
 */
export class UniqueKeys {
  readonly #columns: { values: Map<unknown, number>; objects: Map<string, number>; next: number }[];
  readonly #numbers = new IntegerSet();
  readonly #strings = new Set<string>();
  readonly #radix: number;

  constructor(width: number) {
    this.#columns = Array.from({ length: width }, () => ({ values: new Map(), objects: new Map(), next: 0 }));
    this.#radix = 2 ** Math.floor(52 / Math.max(1, width));
  }

  /** Adds a tuple; false when it was already there. */
  add(values: readonly unknown[]): boolean {
    let key: number | string = 0;
    for (let c = 0; c < values.length; c++) {
      const id = this.#id(c, values[c]);
      if (typeof key === "number" && id < this.#radix) key = key * this.#radix + id;
      else {
        if (typeof key === "number") key = this.#text(values, c);
        key += id < 0xffff ? String.fromCharCode(id) : String.fromCharCode(0xffff, id >>> 16, id & 0xffff);
      }
    }
    if (typeof key === "number") return this.#numbers.add(key);
    const before = this.#strings.size;
    this.#strings.add(key);
    return this.#strings.size > before;
  }

  /** The string form of the ids of columns [0, end). */
  #text(values: readonly unknown[], end: number): string {
    let key = "";
    for (let c = 0; c < end; c++) {
      const id = this.#id(c, values[c]);
      key += id < 0xffff ? String.fromCharCode(id) : String.fromCharCode(0xffff, id >>> 16, id & 0xffff);
    }
    return key;
  }

  clear(): void {
    this.#numbers.clear();
    this.#strings.clear();
    for (const col of this.#columns) {
      col.values.clear();
      col.objects.clear();
    }
  }

  #id(c: number, raw: unknown): number {
    const col = this.#columns[c]!;
    const isObject = typeof raw === "object" && raw !== null;
    const dict: Map<unknown, number> = isObject ? col.objects : col.values;
    const v = isObject
      ? JSON.stringify(raw)
      : raw === undefined || (typeof raw === "number" && !Number.isFinite(raw))
      ? null
      : raw;
    let id = dict.get(v);
    if (id === undefined) dict.set(v, id = col.next++);
    return id;
  }
}

/**
 * A set of integers in [0, 2^52): open addressing with linear probing over a Float64Array, so a million keys take
 * 16 MiB or so and no allocation per key (a `Set<number>` boxes every key beyond the small-integer range).
 */
class IntegerSet {
  #slots = IntegerSet.#empty(1024);
  #size = 0;

  static #empty(n: number): Float64Array {
    return new Float64Array(n).fill(-1);
  }

  /** Adds `key`; false when it was already there. */
  add(key: number): boolean {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    if (!IntegerSet.#put(this.#slots, key)) return false;
    this.#size++;
    return true;
  }

  clear(): void {
    this.#slots = IntegerSet.#empty(1024);
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = IntegerSet.#empty(old.length * 2);
    for (const key of old) if (key >= 0) IntegerSet.#put(this.#slots, key);
  }

  static #put(slots: Float64Array, key: number): boolean {
    const mask = slots.length - 1;
    let h = Math.imul((key >>> 0) ^ Math.imul(Math.floor(key / 4294967296), 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const at = slots[i]!;
      if (at === key) return false;
      if (at < 0) {
        slots[i] = key;
        return true;
      }
    }
  }
}

/** The checks of one output, fed batch by batch. */
export class CheckRun {
  readonly #tallies: Tally[];

  constructor(checks: readonly CheckDef[]) {
    this.#tallies = checks.map(tally);
  }

  add(rows: readonly Record<string, unknown>[]): void {
    for (const t of this.#tallies) t.add(rows);
  }

  /** The outcomes over every row added, in the order of the checks. */
  finish(): CheckOutcome[] {
    return this.#tallies.map((t) => t.finish());
  }
}

export function runChecks(checks: readonly CheckDef[], rows: readonly Record<string, unknown>[]): CheckOutcome[] {
  const run = new CheckRun(checks);
  run.add(rows);
  return run.finish();
}
