/** planRepair: which overlaps are repaired (double seeds, an older version running into a newer one) and which not. */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { planRepair, pricesTable } from "../../src/pricing/mod.ts";

const TABLE = pricesTable(pipelines["setup/bootstrap"].tables.org_model_pricing);
const v = (effective_from: string, effective_to: string | null, input = "1", created_at = "2025-01-01T00:00:00Z") => ({
  org_slug: "o",
  provider: "openai",
  model_id: "m",
  input_per_1m: input,
  output_per_1m: "2",
  currency: "USD",
  effective_from,
  effective_to,
  source: "user",
  created_at,
  updated_at: created_at,
});

Deno.test("planRepair leaves versions that do not overlap alone", () => {
  assert.deepEqual(planRepair(TABLE, [v("2025-01-01", "2025-02-01"), v("2025-02-01", null, "3")]), { steps: [] });
});

Deno.test("planRepair closes an older open version at the newer one's start", () => {
  assert.deepEqual(planRepair(TABLE, [v("2025-03-01", null, "2"), v("2025-01-01", null)]), {
    steps: [{ kind: "close", effective_from: "2025-01-01", effective_to: "2025-03-01" }],
  });
  assert.deepEqual(planRepair(TABLE, [v("2025-01-01", "2025-06-01"), v("2025-03-01", "2025-09-01", "2")]), {
    steps: [{ kind: "close", effective_from: "2025-01-01", effective_to: "2025-03-01" }],
  }, "the newer one reaches further");
});

Deno.test("planRepair keeps the earliest of identical versions (a double seed), whatever their source", () => {
  const first = { ...v("2025-01-01", null, "1", "2025-01-01T00:00:00Z"), source: "seed" };
  const plan = planRepair(TABLE, [v("2025-01-01", null, "1", "2025-01-02T00:00:00Z"), first]);
  assert.deepEqual(plan, { steps: [{ kind: "dedupe", effective_from: "2025-01-01", keep: first, removed: 1 }] });
});

Deno.test("planRepair reports different versions starting the same day and a newer range inside an older one", () => {
  assert.deepEqual(planRepair(TABLE, [v("2025-01-01", null, "1"), v("2025-01-01", null, "2")]), {
    ambiguous: "2 different versions start on 2025-01-01",
  });
  assert.deepEqual(planRepair(TABLE, [v("2025-01-01", null), v("2025-03-01", "2025-04-01", "2")]), {
    ambiguous: "the version 2025-03-01 to 2025-04-01 lies inside 2025-01-01 to open end",
  });
});
