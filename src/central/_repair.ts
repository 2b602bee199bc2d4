/**
 * Start-up repair of overlapping versions of an effective-dated table (see src/pricing/repair.ts for the rules):
 * finds every item with an overlap and applies {@link planRepair} to it under the item's writer lock.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import { qualified, type Row, type Warehouse, type WarehouseTx } from "../warehouse/warehouse.ts";
import type { DatedTable, DateRange, ItemKey } from "../pricing/dated_table.ts";
import { planRepair, type RepairResult, type RepairStep, type Unresolved } from "../pricing/repair.ts";
import type { LockTarget } from "./_lock.ts";
import { withItemLock } from "./_dated_table.ts";

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
  at: LockTarget,
  t: DatedTable,
  now: Date,
  warn: (message: string, fields: Record<string, unknown>) => void,
): Promise<RepairResult> {
  const wh = at.warehouse;
  if (!(await wh.tableExists(CENTRAL_DATASET, t.schema.table))) {
    return { items: 0, closed: 0, duplicates_removed: 0, unresolved: [] };
  }
  const items = await overlappingItems(wh, t);
  let closed = 0, duplicates = 0;
  const unresolved: Unresolved[] = [];
  for (const { org, key } of items) {
    const plan = await withItemLock(at, t, org, key, now, async (tx) => {
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
