/**
 * Start-up repair of overlapping versions written before writes were serialised (two concurrent POSTs of one model
 * both committed; two first setups seeded twice). Per item with an overlap, under its writer lock:
 *
 * - versions starting the same day that are identical apart from source and times (a double seed) keep the
 *   earliest-created row;
 * - an older version that runs into a newer one is closed at the newer one's `effective_from` when the newer one
 *   reaches at least as far (what a serialised POST would have done);
 * - anything else (two different versions starting the same day, a newer closed range inside an older one) is left
 *   as it is and reported, naming the org and the item, for the org to fix with PUT or DELETE.
 *
 * This module plans the repair (pure); the price store (src/central/prices.ts) finds the items and applies it.
 */
import type { Row } from "../warehouse/warehouse.ts";
import { type DatedTable, type DateRange, day, overlaps } from "./dated_table.ts";

/** One change of {@link planRepair}. */
export type RepairStep =
  | { readonly kind: "dedupe"; readonly effective_from: string; readonly keep: Row; readonly removed: number }
  | { readonly kind: "close"; readonly effective_from: string; readonly effective_to: string };

/** What to do with one item's versions: the steps, or why it cannot be repaired without a human. */
export type RepairPlan = { readonly steps: RepairStep[] } | { readonly ambiguous: string };

/** An item left overlapping, as reported. */
export interface Unresolved {
  readonly table: string;
  readonly org_slug: string;
  readonly item: string;
  readonly reason: string;
}

export interface RepairResult {
  /** Items that had an overlap. */
  readonly items: number;
  /** Versions closed at the next one's start. */
  readonly closed: number;
  /** Duplicate rows removed. */
  readonly duplicates_removed: number;
  readonly unresolved: Unresolved[];
}

const SYSTEM = new Set(["org_slug", "source", "created_at", "updated_at"]);
const span = (r: DateRange) => `${r.effective_from} to ${r.effective_to ?? "open end"}`;

/**
 * The repair of one item's versions (all rows, any order), or why there is none. Pure; an item without an
 * overlap gets no steps.
 */
export function planRepair(t: DatedTable, rows: readonly (Row & DateRange)[]): RepairPlan {
  const steps: RepairStep[] = [];
  const byFrom = new Map<string, (Row & DateRange)[]>();
  for (const r of rows) byFrom.set(r.effective_from, [...(byFrom.get(r.effective_from) ?? []), r]);
  const versions: { effective_from: string; effective_to: string | null }[] = [];
  for (const [from, group] of [...byFrom].sort(([a], [b]) => day(a) - day(b))) {
    const sameValues = (r: Row) =>
      JSON.stringify(t.schema.fields.filter((f) => !SYSTEM.has(f.name)).map((f) => r[f.name] ?? null));
    if (new Set(group.map(sameValues)).size > 1) {
      return { ambiguous: `${group.length} different versions start on ${from}` };
    }
    const keep = [...group].sort((a, b) => String(a.created_at) < String(b.created_at) ? -1 : 1)[0]!;
    if (group.length > 1) steps.push({ kind: "dedupe", effective_from: from, keep, removed: group.length - 1 });
    versions.push({ effective_from: keep.effective_from, effective_to: keep.effective_to });
  }
  for (let i = 0; i + 1 < versions.length; i++) {
    const [older, newer] = [versions[i]!, versions[i + 1]!];
    if (!overlaps(older, newer)) continue;
    const reachesFurther = newer.effective_to === null ||
      (older.effective_to !== null && day(newer.effective_to) >= day(older.effective_to));
    if (!reachesFurther) return { ambiguous: `the version ${span(newer)} lies inside ${span(older)}` };
    steps.push({ kind: "close", effective_from: older.effective_from, effective_to: newer.effective_from });
    older.effective_to = newer.effective_from;
  }
  return { steps };
}
