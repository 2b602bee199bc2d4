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
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import { qualified, type Row, type Warehouse, type WarehouseTx } from "../warehouse/warehouse.ts";
import { type DatedTable, type DateRange, day, type ItemKey, overlaps, withItemLock } from "./dated_table.ts";

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

const keyWhere = (t: DatedTable) => ["org_slug = @org_slug", ...t.keys.map((k) => `${k} = @key_${k}`)];
const keyParams = (t: DatedTable, org: string, key: ItemKey) => ({
  org_slug: org,
  ...Object.fromEntries(t.keys.map((k) => [`key_${k}`, key[k]!])),
});

/** Items (org and keys) of the table with two versions sharing a day. */
async function overlappingItems(wh: Warehouse, t: DatedTable): Promise<{ org: string; key: ItemKey }[]> {
  const table = qualified(CENTRAL_DATASET, t.schema.table);
  const cols = ["org_slug", ...t.keys];
  const same = cols.map((c) => `a.${c} = b.${c}`).join(" AND ");
  const found = [
    ...await wh.query(
      `SELECT DISTINCT ${cols.map((c) => `a.${c}`).join(", ")} FROM ${table} a JOIN ${table} b ON ${same}
       AND a.effective_from < b.effective_from AND (a.effective_to IS NULL OR a.effective_to > b.effective_from)`,
    ),
    ...await wh.query(
      `SELECT ${cols.join(", ")} FROM ${table} GROUP BY ${cols.join(", ")}, effective_from HAVING COUNT(*) > 1`,
    ),
  ];
  const items = new Map<string, { org: string; key: ItemKey }>();
  for (const r of found) {
    const key = Object.fromEntries(t.keys.map((k) => [k, String(r[k])]));
    items.set(JSON.stringify([r.org_slug, key]), { org: String(r.org_slug), key });
  }
  return [...items.values()];
}

async function applySteps(tx: WarehouseTx, t: DatedTable, org: string, key: ItemKey, steps: RepairStep[], now: Date) {
  const table = qualified(CENTRAL_DATASET, t.schema.table);
  const where = [...keyWhere(t), "effective_from = CAST(@from AS DATE)"].join(" AND ");
  for (const s of steps) {
    const params = { ...keyParams(t, org, key), from: s.effective_from };
    if (s.kind === "dedupe") {
      await tx.execute(`DELETE FROM ${table} WHERE ${where}`, params);
      await tx.insertRows(CENTRAL_DATASET, t.schema, [{ ...s.keep, org_slug: org }]);
    }
  }
  for (const s of steps) {
    if (s.kind !== "close") continue;
    await tx.execute(
      `UPDATE ${table} SET effective_to = CAST(@to AS DATE), updated_at = @now WHERE ${where}`,
      { ...keyParams(t, org, key), from: s.effective_from, to: s.effective_to, now },
    );
  }
}

/**
 * Finds every item of `t` whose versions overlap and repairs it where that is unambiguous; the rest is returned
 * (and passed to `warn`). A missing table (not bootstrapped yet) has nothing to repair.
 */
export async function repairOverlaps(
  wh: Warehouse,
  t: DatedTable,
  now: Date,
  warn: (message: string, fields: Record<string, unknown>) => void,
): Promise<RepairResult> {
  if (!(await wh.tableExists(CENTRAL_DATASET, t.schema.table))) {
    return { items: 0, closed: 0, duplicates_removed: 0, unresolved: [] };
  }
  const items = await overlappingItems(wh, t);
  let closed = 0, duplicates = 0;
  const unresolved: Unresolved[] = [];
  for (const { org, key } of items) {
    const plan = await withItemLock(wh, t, org, key, now, async (tx) => {
      const rows = await tx.query<Row & DateRange>(
        `SELECT ${t.schema.fields.map((f) => f.name).join(", ")} FROM ${qualified(CENTRAL_DATASET, t.schema.table)}
         WHERE ${keyWhere(t).join(" AND ")}`,
        keyParams(t, org, key),
      );
      const plan = planRepair(t, rows);
      if ("steps" in plan) await applySteps(tx, t, org, key, plan.steps, now);
      return plan;
    });
    if ("ambiguous" in plan) {
      const u = { table: t.schema.table, org_slug: org, item: t.describe(key), reason: plan.ambiguous };
      unresolved.push(u);
      warn("overlapping versions left as they are: fix them with PUT or DELETE", { ...u });
      continue;
    }
    closed += plan.steps.filter((s) => s.kind === "close").length;
    duplicates += plan.steps.reduce((n, s) => n + (s.kind === "dedupe" ? s.removed : 0), 0);
  }
  return { items: items.length, closed, duplicates_removed: duplicates, unresolved };
}
