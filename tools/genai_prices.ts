/**
 * The default price seeds (configs/<provider>/seed/data/default_pricing.csv) as a pure function of the price
 * database of `@pydantic/genai-prices`: one row per model id and price period, amounts as exact decimal strings.
 *
 * Rules (README "Prices"):
 * - Ids: each database model gives its own id, that id without `-latest`, and the literal ids its match rule names
 *   (`equals`); an id is kept only when the database's own matching resolves it to that model, and a dated snapshot
 *   id is dropped when its undated id (the pricer's fallback) resolves to the same model.
 * - Periods: the database's `start_date` constraints cut the history; the first period opens on the model's earliest
 *   dated snapshot id (`o3-2025-04-16` -> 2025-04-16), else on {@link FLOOR_DAY}; the last stays open.
 * - A day is priced at the rate the database applies for the largest share of that UTC day (DeepSeek's time-of-day
 *   windows); tiered prices (above N tokens) are priced at their base tier; both are said in `notes`.
 * - Not seeded (left unpriced, never priced at a text rate): models with audio or image token prices, or whose id
 *   names audio, realtime, transcription or speech, since the usage API counts those tokens in input/output tokens
 *   and the seed has no columns for them; models without an input token price.
 * - `*_mtok` amounts are already USD per 1M tokens: they are carried as the decimal JS prints for the database's
 *   number, refused (never rounded) when that needs more than 9 decimals.
 */
import { checkAmount } from "../src/pricing/decimal.ts";
import { MODEL_ID } from "../src/pricing/prices.ts";
import { modelCandidates } from "../src/processors/_prices.ts";

/** A model-id match rule of the database. */
export type Match =
  | { and: Match[] }
  | { or: Match[] }
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string };
/** A price that changes above a token count. */
export interface Tiered {
  base: number;
  tiers: { start: number; price: number }[];
}
/** The database's prices of one model: `input_mtok`, `cache_read_mtok`, ... */
export type DbPrice = Record<string, number | Tiered | undefined>;
/** A price that applies from a day on, or within a daily UTC window. */
export type DbConstraint =
  | { type: "start_date"; start_date: string }
  | { type: "time_of_date"; start_time: string; end_time: string };
export interface DbConditional {
  constraint?: DbConstraint;
  prices: DbPrice;
}
export interface DbModel {
  id: string;
  match: Match;
  prices: DbPrice | DbConditional[];
}
export interface DbProvider {
  id: string;
  models: DbModel[];
}

/** The seed CSV's columns, in order (org_model_pricing without org_slug, source and timestamps). */
export const CSV_COLUMNS = [
  "provider",
  "model_id",
  "input_per_1m",
  "cached_input_per_1m",
  "cache_write_5m_per_1m",
  "cache_write_1h_per_1m",
  "output_per_1m",
  "currency",
  "effective_from",
  "effective_to",
  "notes",
] as const;
export type SeedRow = Record<(typeof CSV_COLUMNS)[number], string>;

/** Where a model's first period opens when the database names no dated snapshot of it. */
export const FLOOR_DAY = "2020-01-01";

/** Database price key -> seed column. `cache_write_mtok` is the default (Anthropic 5-minute) cache-write rate. */
const PRICE_COLUMNS = [
  ["input_mtok", "input_per_1m", "in"],
  ["cache_read_mtok", "cached_input_per_1m", "cached"],
  ["cache_write_mtok", "cache_write_5m_per_1m", "write-5m"],
  ["cache_write_1h_mtok", "cache_write_1h_per_1m", "write-1h"],
  ["output_mtok", "output_per_1m", "out"],
] as const;

/** Token prices the seed carries; a price with any other `*_mtok` (audio, image tokens) is not seeded. */
const CARRIED = new Set<string>(PRICE_COLUMNS.map(([key]) => key));
/** Audio and realtime models: the usage API counts their audio tokens inside input/output tokens. */
const AUDIO_MODEL = /audio|realtime|transcribe|tts/;

/** The database's match rule applied to a model id, as the package applies it (case-insensitive). */
export function matches(rule: Match, id: string): boolean {
  const s = id.toLowerCase();
  if ("or" in rule) return rule.or.some((r) => matches(r, id));
  if ("and" in rule) return rule.and.every((r) => matches(r, id));
  if ("equals" in rule) return s === rule.equals.toLowerCase();
  if ("starts_with" in rule) return s.startsWith(rule.starts_with.toLowerCase());
  if ("ends_with" in rule) return s.endsWith(rule.ends_with.toLowerCase());
  if ("contains" in rule) return s.includes(rule.contains.toLowerCase());
  return new RegExp(rule.regex).test(id);
}

/** The model the database prices `id` with: the first whose rule matches. */
export function resolveModel(provider: DbProvider, id: string): DbModel | undefined {
  return provider.models.find((m) => matches(m.match, id));
}

/** Every `equals` literal of a rule. */
function literals(rule: Match): string[] {
  if ("or" in rule) return rule.or.flatMap(literals);
  if ("and" in rule) return rule.and.flatMap(literals);
  return "equals" in rule ? [rule.equals.toLowerCase()] : [];
}

/** A JS number (USD per 1M tokens) as an exact decimal string, at least two decimals: 2.5 -> "2.50". */
export function perMillion(n: number, what: string): string {
  const r = checkAmount(n);
  if ("error" in r) throw new RangeError(`${what} ${n} ${r.error}`);
  const [whole, fraction = ""] = r.value.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
}

/** The earliest day a dated snapshot literal of the model names (`-YYYY-MM-DD` or `-YYYYMMDD`), or undefined. */
export function launchDay(model: DbModel): string | undefined {
  const days = literals(model.match).flatMap((id) => {
    const m = /-(\d{4})-?(\d{2})-?(\d{2})$/.exec(id);
    if (!m || !/-\d{4}-\d{2}-\d{2}$|-\d{8}$/.test(id)) return [];
    const day = `${m[1]}-${m[2]}-${m[3]}`;
    return Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ? [] : [day];
  });
  return days.sort()[0];
}

/** `HH:MM:SS` with `Z` or `±HH:MM` -> seconds after UTC midnight. */
function utcSeconds(time: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time);
  if (!m) throw new RangeError(`Time of day "${time}" is not HH:MM:SS with a UTC offset`);
  const offset = m[4] === "Z" ? 0 : (m[5] === "+" ? 1 : -1) * (Number(m[6]) * 3600 + Number(m[7]) * 60);
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) - offset + 86400) % 86400;
}

/** The entry the package picks at `second` of `day`: the last whose constraint holds, else the first. */
function entryAt(entries: readonly DbConditional[], day: string, second: number): number {
  for (let i = entries.length - 1; i >= 0; i--) {
    const c = entries[i]!.constraint;
    if (c === undefined) return i;
    if (c.type === "start_date" && day >= c.start_date.slice(0, 10)) return i;
    if (c.type === "time_of_date") {
      const [from, to] = [utcSeconds(c.start_time), utcSeconds(c.end_time)];
      if (to < from ? second >= from || second < to : second >= from && second < to) return i;
    }
  }
  return 0;
}

/** The entry priced for most of `day` (ties: the later entry) and the minutes of the day it covers. */
export function dayEntry(entries: readonly DbConditional[], day: string): { index: number; minutes: number } {
  const minutes = new Map<number, number>();
  for (let m = 0; m < 1440; m++) {
    const i = entryAt(entries, day, m * 60);
    minutes.set(i, (minutes.get(i) ?? 0) + 1);
  }
  let best = { index: 0, minutes: -1 };
  for (const [index, n] of minutes) {
    if (n > best.minutes || (n === best.minutes && index > best.index)) best = { index, minutes: n };
  }
  return best;
}

/** A model's price periods: `[from, to)` days (to null = open) and the entry in force. */
export function periods(model: DbModel): { from: string; to: string | null; price: DbPrice; minutes: number }[] {
  const entries = Array.isArray(model.prices) ? model.prices : [{ prices: model.prices }];
  const first = launchDay(model) ?? FLOOR_DAY;
  const cuts = entries.flatMap((e) => e.constraint?.type === "start_date" ? [e.constraint.start_date] : []);
  for (const c of cuts) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(c)) throw new RangeError(`Model "${model.id}": start_date "${c}" is not a day`);
  }
  const starts = [first, ...new Set(cuts.filter((c) => c > first))].sort();
  return starts.map((from, i) => {
    const { index, minutes } = dayEntry(entries, from);
    return { from, to: starts[i + 1] ?? null, price: entries[index]!.prices, minutes };
  });
}

/** The seed cells and caveats of one price: base tier of a tiered price, 0 output for an input-only model. */
function priceCells(price: DbPrice, what: string): { cells: Partial<SeedRow>; caveats: string[] } | undefined {
  if (price.input_mtok === undefined || Object.keys(price).some((k) => k.endsWith("_mtok") && !CARRIED.has(k))) {
    return undefined;
  }
  const cells: Partial<SeedRow> = {};
  const above = new Map<number, string[]>();
  for (const [key, column, label] of PRICE_COLUMNS) {
    const v = price[key];
    if (v === undefined) cells[column] = "";
    else if (typeof v === "number") cells[column] = perMillion(v, `${what} ${key}`);
    else {
      cells[column] = perMillion(v.base, `${what} ${key}`);
      for (const t of v.tiers) {
        above.set(t.start, [...above.get(t.start) ?? [], `${label} ${perMillion(t.price, `${what} ${key} tier`)}`]);
      }
    }
  }
  const tiers = [...above].sort(([a], [b]) => a - b).map(([start, p]) => `above ${start} tokens ${p.join(" ")}`);
  const caveats = tiers.length ? [`base tier (${tiers.join(", ")} not modelled)`] : [];
  if (price.output_mtok === undefined) {
    cells.output_per_1m = "0.00";
    caveats.push("input only (no output price in the database)");
  }
  return { cells, caveats };
}

/** The ids seeded for a provider, each with the model that prices it, sorted. */
export function seedIds(provider: DbProvider): [string, DbModel][] {
  const ids = new Map<string, DbModel>();
  for (const model of provider.models) {
    const own = model.id.toLowerCase();
    if (AUDIO_MODEL.test(own)) continue;
    for (const id of [own, own.replace(/-latest$/, ""), ...literals(model.match)]) {
      if (!MODEL_ID.test(id) || /[-.]$/.test(id) || resolveModel(provider, id) !== model) continue;
      ids.set(id, model);
    }
  }
  const kept = [...ids].filter(([id, model]) => {
    const base = modelCandidates(id)[1];
    return base === undefined || ids.get(base) !== model;
  });
  return kept.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

/** The seed rows the database gives for a provider, sorted by model id then effective_from. */
export function seedRows(provider: DbProvider, version: string): SeedRow[] {
  const source = `genai-prices ${version}`;
  const rows: SeedRow[] = [];
  for (const [id, model] of seedIds(provider)) {
    const versions: SeedRow[] = [];
    for (const p of periods(model)) {
      const priced = priceCells(p.price, `${provider.id}/${model.id}`);
      if (priced === undefined) continue;
      const caveats = [...priced.caveats];
      if (p.minutes < 1440) caveats.push(`rate of ${p.minutes / 60} h of the UTC day (time-of-day rates not modelled)`);
      if (model.id.toLowerCase() !== id) caveats.push(`priced as ${model.id}`);
      const row = {
        provider: provider.id,
        model_id: id,
        ...priced.cells,
        currency: "USD",
        effective_from: p.from,
        effective_to: p.to ?? "",
        notes: [source, ...caveats].join("; "),
      } as SeedRow;
      const last = versions.at(-1);
      if (last && sameVersion(last, row)) last.effective_to = row.effective_to;
      else versions.push(row);
    }
    rows.push(...versions);
  }
  return rows;
}

/** Two consecutive rows that differ only in their days. */
function sameVersion(a: SeedRow, b: SeedRow): boolean {
  return CSV_COLUMNS.every((c) => c === "effective_from" || c === "effective_to" || a[c] === b[c]);
}

/** Generated rows with the hand-kept overrides: an override model's rows replace all the database's rows for it. */
export function mergeOverrides(rows: readonly SeedRow[], overrides: readonly SeedRow[]): SeedRow[] {
  const replaced = new Set(overrides.map((o) => o.model_id));
  const key = (r: SeedRow) => `${r.model_id}\u0000${r.effective_from}`;
  return [...rows.filter((r) => !replaced.has(r.model_id)), ...overrides].sort((a, b) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  );
}

/** One CSV cell: quoted when it holds a comma, quote or line break. */
function cell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The seed CSV text: header, one line per row, LF endings. */
export function toCsv(rows: readonly SeedRow[]): string {
  const lines = [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))];
  return lines.join("\n") + "\n";
}
