/**
 * The demo (`deno task demo`, demo/flow.ts) end to end on a temporary directory: every integration set up, every
 * pipeline COMPLETED, and a reconciliation whose every gap is explained: its simulators bill what they report as
 * usage, so each day and model matches to the cent or says why not (an unpriced model, a day not yet final, ...).
 */
import assert from "node:assert/strict";
import { demoReconciliation, reconciliationLines, startDemo, unexplainedGaps } from "../../demo/flow.ts";

Deno.test("the demo sets up, runs and reconciles with no unexplained gap", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "demo_test_" });
  const demo = await startDemo({ dataDir, port: "0", logLevel: "error" });
  try {
    for (const s of demo.steps) assert.equal(s.failure, "", `${s.what}: ${s.failure}`);
    assert.deepEqual(demo.steps.filter((s) => s.what.startsWith("integration")).map((s) => s.outcome), [
      "VALID",
      "VALID",
      "VALID",
      "VALID",
    ]);
    for (const s of demo.steps.filter((s) => s.what.startsWith("run"))) assert.match(s.outcome, /^COMPLETED /, s.what);
    const rec = await demoReconciliation(demo);
    assert.deepEqual(unexplainedGaps(rec), [], reconciliationLines(rec).join("\n"));
    const providers = new Set(rec.totals.map((t) => t.provider));
    for (const p of ["openai", "anthropic", "gcp"]) assert.ok(providers.has(p), `${p} is reconciled`);
  } finally {
    await demo.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a gap without a reason, or a match off by a cent or more, is reported as unexplained", () => {
  const row = (status: string, difference: string, reasons: { code: string; message: string }[] = []) => ({
    provider: "openai",
    day: "2026-01-02",
    currency: "USD",
    difference,
    status,
    reasons,
    models: [],
  });
  const rec = (rows: ReturnType<typeof row>[]) => ({ rows, totals: [] });
  assert.deepEqual(unexplainedGaps(rec([row("MATCHED", "0")])), []);
  assert.deepEqual(unexplainedGaps(rec([row("MATCHED", "0.004")])), []);
  assert.deepEqual(unexplainedGaps(rec([row("MATCHED", "0.02")])), ["openai 2026-01-02: MATCHED, difference 0.02"]);
  assert.deepEqual(unexplainedGaps(rec([row("OVER", "2", [{ code: "BILLED_WITHOUT_USAGE", message: "x" }])])), []);
  assert.deepEqual(unexplainedGaps(rec([row("UNDER", "-2")])), ["openai 2026-01-02: UNDER, difference -2"]);
});
