/** The reconciliation's classification, reasons, finality and totals, on hand-computed sums (no warehouse). */
import assert from "node:assert/strict";
import { classify, isFinal, parseReconciliationQuery, reconcile, toCsv } from "../../src/costs/reconciliation.ts";
import { unpricedUsage } from "../../src/costs/unpriced.ts";
import { AppError } from "../../src/errors/mod.ts";

const side = (list: string | null, billed: string | null, unpriced = false) => ({ list, billed, unpriced });

Deno.test("classify() matches within 1% of the list cost or 0.01 of the currency, whichever is larger", () => {
  // 1% of 100 = 1: 100.99 is 0.99 over -> MATCHED; 101.01 is 1.01 over -> OVER.
  assert.deepEqual(classify(side("100", "100.99")), {
    list_cost: "100",
    billed_cost: "100.99",
    difference: "0.99",
    relative_difference: "0.0099",
    status: "MATCHED",
  });
  assert.equal(classify(side("100", "101.01")).status, "OVER");
  assert.equal(classify(side("100", "98.5")).status, "UNDER");
  assert.equal(classify(side("100", "98.5")).difference, "-1.5");
  // 1% of 0.5 = 0.005 < 0.01: the absolute tolerance holds, 0.51 matches, 0.52 (0.02 over) does not.
  assert.equal(classify(side("0.5", "0.51")).status, "MATCHED");
  assert.equal(classify(side("0.5", "0.52")).status, "OVER");
  assert.equal(classify(side("0.5", "0.52")).relative_difference, "0.04");
});

Deno.test("classify() says UNPRICED when usage has no price and UNBILLED when nothing is billed", () => {
  assert.deepEqual(classify(side(null, "3", true)), {
    list_cost: null,
    billed_cost: "3",
    difference: "3",
    relative_difference: null,
    status: "UNPRICED",
  });
  assert.deepEqual(classify(side("2.25", null)), {
    list_cost: "2.25",
    billed_cost: null,
    difference: null,
    relative_difference: null,
    status: "UNBILLED",
  });
  // Billed without usage compares against 0.
  assert.equal(classify(side(null, "0.005")).status, "MATCHED");
  assert.equal(classify(side(null, "4")).status, "OVER");
});

Deno.test("classify() takes the tolerances given", () => {
  const strict = { relative: "0", amount: "0" };
  assert.equal(classify(side("100", "100.000000001"), strict).status, "OVER");
  assert.equal(classify(side("100", "100"), strict).status, "MATCHED");
  assert.equal(classify(side("100", "95"), { relative: "0.05", amount: "0" }).status, "MATCHED");
});

Deno.test("isFinal() keeps the last three days open, and a GCP month until the 6th of the next one", () => {
  assert.equal(isFinal("openai", "2025-06-10", "2025-06-12"), false);
  assert.equal(isFinal("openai", "2025-06-10", "2025-06-13"), true);
  assert.equal(isFinal("gcp", "2025-05-01", "2025-06-05"), false);
  assert.equal(isFinal("gcp", "2025-05-31", "2025-06-06"), true);
});

Deno.test("reconcile() compares per day and model, names the reasons and totals per provider", () => {
  const today = "2025-06-20";
  const list = [
    {
      provider: "openai",
      day: "2025-06-01",
      model: "gpt-4o",
      currency: "USD",
      list_cost: "10",
      records: 2,
      unpriced_records: 0,
    },
    {
      provider: "openai",
      day: "2025-06-01",
      model: "audio-x",
      currency: "USD",
      list_cost: null,
      records: 1,
      unpriced_records: 1,
    },
    {
      provider: "openai",
      day: "2025-06-01",
      model: "o3",
      currency: "USD",
      list_cost: "1",
      records: 1,
      unpriced_records: 0,
    },
    {
      provider: "openai",
      day: "2025-06-02",
      model: "gpt-4o",
      currency: "USD",
      list_cost: "5",
      records: 1,
      unpriced_records: 0,
    },
    {
      provider: "openai",
      day: "2025-06-19",
      model: "gpt-4o",
      currency: "USD",
      list_cost: "7",
      records: 1,
      unpriced_records: 0,
    },
  ];
  const billed = [
    { provider: "openai", day: "2025-06-01", model: "gpt-4o", currency: "USD", billed_cost: "10.05" },
    { provider: "openai", day: "2025-06-01", model: "audio-x", currency: "USD", billed_cost: "3" },
    { provider: "openai", day: "2025-06-01", model: "dall-e-3", currency: "USD", billed_cost: "0.5" },
    { provider: "openai", day: "2025-06-02", model: "gpt-4o", currency: "USD", billed_cost: "5" },
  ];
  const { rows, totals } = reconcile(list, billed, { today });
  assert.deepEqual(rows.map((r) => [r.day, r.status, r.list_cost, r.billed_cost, r.final]), [
    ["2025-06-01", "UNPRICED", "11", "13.55", true],
    ["2025-06-02", "MATCHED", "5", "5", true],
    ["2025-06-19", "UNBILLED", "7", null, false],
  ]);
  const first = rows[0]!;
  assert.deepEqual(first.reasons.map((r) => [r.code, r.models]), [
    ["UNPRICED_MODELS", ["audio-x"]],
    ["USAGE_WITHOUT_BILLED_LINE", ["o3"]],
    ["BILLED_WITHOUT_USAGE", ["dall-e-3"]],
  ]);
  assert.match(first.reasons[0]!.message, /"audio-x"/);
  assert.deepEqual(first.models.map((m) => [m.model, m.status, m.difference]), [
    ["audio-x", "UNPRICED", "3"],
    ["dall-e-3", "OVER", "0.5"],
    ["gpt-4o", "MATCHED", "0.05"],
    ["o3", "UNBILLED", null],
  ]);
  assert.deepEqual(rows[2]!.reasons.map((r) => r.code), ["USAGE_WITHOUT_BILLED_LINE", "NOT_FINAL"]);
  // Totals: list 11 + 5 + 7 = 23, billed 13.55 + 5 = 18.55; a day UNPRICED makes the total UNPRICED.
  assert.deepEqual(totals, [{
    provider: "openai",
    currency: "USD",
    list_cost: "23",
    billed_cost: "18.55",
    difference: "-4.45",
    relative_difference: "-0.193478261",
    status: "UNPRICED",
    days: { MATCHED: 1, OVER: 0, UNDER: 0, UNPRICED: 1, UNBILLED: 1 },
  }]);
  const csv = toCsv(rows).split("\r\n");
  assert.equal(
    csv[0],
    "provider,day,model,currency,list_cost,billed_cost,difference,relative_difference,status,final,reasons",
  );
  assert.equal(csv[6], "openai,2025-06-02,,USD,5,5,0,0,MATCHED,true,");
  assert.equal(csv[3], "openai,2025-06-01,dall-e-3,USD,,0.5,0.5,,OVER,true,");
});

Deno.test("parseReconciliationQuery() checks format and the tolerances, naming the field", () => {
  const now = new Date("2025-06-20T12:00:00Z");
  const ok = parseReconciliationQuery(new URLSearchParams("start=2025-06-01&end=2025-06-10&format=csv"), now);
  assert.deepEqual([ok.start, ok.end, ok.format, ok.tolerance, ok.today], [
    "2025-06-01",
    "2025-06-10",
    "csv",
    { relative: "0.01", amount: "0.01" },
    "2025-06-20",
  ]);
  for (
    const [q, field] of [
      ["format=xml", "format"],
      ["tolerance=2", "tolerance"],
      ["tolerance_amount=-1", "tolerance_amount"],
      ["provider=aws", "provider"],
      ["group_by=day", "group_by"],
    ]
  ) {
    assert.throws(
      () => parseReconciliationQuery(new URLSearchParams(q), now),
      (e: unknown) => e instanceof AppError && e.code === "VALIDATION_ERROR" && e.message.includes(`"${field}"`),
      q,
    );
  }
});

Deno.test("unpricedUsage() sums the quantity per provider, model and unit and lists the days", () => {
  assert.deepEqual(
    unpricedUsage([
      {
        provider: "openai",
        model: "audio-x",
        unit: "Tokens",
        day: "2025-06-01",
        quantity: "1500.000000000",
        records: 2,
      },
      { provider: "openai", model: "audio-x", unit: "Tokens", day: "2025-06-03", quantity: "500", records: "1" },
    ]),
    [{
      provider: "openai",
      model: "audio-x",
      unit: "Tokens",
      quantity: "2000",
      records: 3,
      days: ["2025-06-01", "2025-06-03"],
    }],
  );
});
