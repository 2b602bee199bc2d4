/**
 * The org's effective-dated model prices as a cost step uses them: the version in force on a day, with model-id
 * matching (a dated snapshot id falls back to its base id). The store reads them (`PriceStore.pricesInForce`).
 */
import type { ModelPrice } from "../pricing/prices.ts";
import { type Day, dayFromIso } from "../time/day.ts";

export type { ModelPrice };

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
