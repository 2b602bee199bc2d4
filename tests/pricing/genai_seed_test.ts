/**
 * The default price seeds from the genai-prices database: the mapping on a hand-written sample of the database's
 * shape (exact decimals, history as contiguous effective ranges, cache columns, tiers, time-of-day windows, ids),
 * and the committed CSVs equal to what the pinned database and the overrides give.
 */
import assert from "node:assert/strict";
import {
  type DbProvider,
  mergeOverrides,
  perMillion,
  seedIds,
  type SeedRow,
  seedRows,
  toCsv,
} from "../../tools/genai_prices.ts";
import { expectedCsvs } from "../../tools/prices_main.ts";
import { PRICED_SLUGS } from "../../src/providers/catalogue.ts";

const sample: DbProvider = {
  id: "anthropic",
  models: [
    {
      id: "claude-x-1",
      match: { or: [{ starts_with: "claude-x-1" }, { equals: "claude-x-1-20250301" }, { equals: "claude-1-x" }] },
      prices: [
        {
          prices: {
            input_mtok: 3,
            cache_read_mtok: 0.3,
            cache_write_mtok: 3.75,
            cache_write_1h_mtok: 6,
            output_mtok: 15,
          },
        },
        { constraint: { type: "start_date", start_date: "2025-06-10" }, prices: { input_mtok: 2, output_mtok: 8 } },
        {
          constraint: { type: "start_date", start_date: "2025-09-01" },
          prices: { input_mtok: { base: 1.5, tiers: [{ start: 200000, price: 3 }] }, output_mtok: 0.0028 },
        },
      ],
    },
    {
      id: "cheap-latest",
      match: { starts_with: "cheap" },
      prices: [
        { prices: { input_mtok: 0.135, output_mtok: 0.55 } },
        {
          constraint: { type: "time_of_date", start_time: "00:30:00Z", end_time: "16:30:00Z" },
          prices: { input_mtok: 0.27, output_mtok: 1.1 },
        },
      ],
    },
    { id: "embed", match: { equals: "embed" }, prices: { input_mtok: 0.02 } },
    { id: "voice", match: { equals: "voice" }, prices: { input_mtok: 2.5, input_audio_mtok: 40, output_mtok: 10 } },
    { id: "model-audio-preview", match: { equals: "model-audio-preview" }, prices: { input_mtok: 2.5 } },
  ],
};

const rows = seedRows(sample, "9.9.9");
const of = (id: string) => rows.filter((r) => r.model_id === id);

Deno.test("amounts per 1M are the database's exact decimals, refused rather than rounded when float noise", () => {
  assert.equal(perMillion(2.5, "x"), "2.50");
  assert.equal(perMillion(0.0028, "x"), "0.0028");
  assert.equal(perMillion(1e-7, "x"), "0.0000001");
  assert.equal(perMillion(0.435, "x"), "0.435");
  assert.throws(() => perMillion(0.1 + 0.2, "x"), /at most 9 decimals/);
});

Deno.test("price history becomes contiguous, non-overlapping effective ranges opening on the snapshot day", () => {
  const x = of("claude-x-1");
  assert.deepEqual(x.map((r) => [r.effective_from, r.effective_to, r.input_per_1m, r.output_per_1m]), [
    ["2025-03-01", "2025-06-10", "3.00", "15.00"],
    ["2025-06-10", "2025-09-01", "2.00", "8.00"],
    ["2025-09-01", "", "1.50", "0.0028"],
  ]);
  for (let i = 1; i < x.length; i++) assert.equal(x[i]!.effective_from, x[i - 1]!.effective_to, "contiguous");
});

Deno.test("cache read and the 5-minute and 1-hour cache writes map to their columns, absent ones stay empty", () => {
  const [first, second] = of("claude-x-1");
  assert.deepEqual(
    [first!.cached_input_per_1m, first!.cache_write_5m_per_1m, first!.cache_write_1h_per_1m],
    ["0.30", "3.75", "6.00"],
  );
  assert.deepEqual([second!.cached_input_per_1m, second!.cache_write_5m_per_1m, second!.cache_write_1h_per_1m], [
    "",
    "",
    "",
  ]);
  assert.equal(first!.currency, "USD");
  assert.equal(first!.notes, "genai-prices 9.9.9");
});

Deno.test("a tiered price is seeded at its base tier and the notes name the tier", () => {
  const last = of("claude-x-1").at(-1)!;
  assert.equal(last.input_per_1m, "1.50");
  assert.match(last.notes, /^genai-prices 9\.9\.9; base tier \(above 200000 tokens in 3\.00 not modelled\)$/);
});

Deno.test("a day with time-of-day rates is priced at the rate holding most of the UTC day", () => {
  const [cheap] = of("cheap");
  assert.equal(cheap!.input_per_1m, "0.27", "00:30-16:30 is 16 of 24 hours");
  assert.equal(cheap!.output_per_1m, "1.10");
  assert.equal(cheap!.effective_from, "2020-01-01", "no dated snapshot: the floor day");
  assert.match(cheap!.notes, /rate of 16 h of the UTC day/);
});

Deno.test("ids are the model id, its -latest stem and its literal ids, without redundant dated snapshots", () => {
  const ids = seedIds(sample).map(([id]) => id);
  assert.deepEqual(ids, ["cheap", "cheap-latest", "claude-1-x", "claude-x-1", "embed", "voice"], "no audio-named id");
  assert.match(of("claude-1-x")[0]!.notes, /priced as claude-x-1/);
});

Deno.test("audio models are left unpriced and an input-only model has a zero output price", () => {
  assert.equal(of("voice").length, 0);
  assert.equal(of("model-audio-preview").length, 0);
  assert.deepEqual([of("embed")[0]!.input_per_1m, of("embed")[0]!.output_per_1m], ["0.02", "0.00"]);
});

Deno.test("an override replaces every database row of its model and the output is sorted", () => {
  const override = { ...of("embed")[0]!, input_per_1m: "0.05", effective_from: "2024-01-01", notes: "Hand-kept" };
  const merged = mergeOverrides(rows, [override as SeedRow]);
  assert.deepEqual(merged.filter((r) => r.model_id === "embed").map((r) => r.input_per_1m), ["0.05"]);
  assert.equal(merged.length, rows.length);
  const keys = merged.map((r) => `${r.model_id} ${r.effective_from}`);
  assert.deepEqual(keys, [...keys].sort());
});

Deno.test("the CSV quotes cells with commas and ends with a newline", () => {
  const text = toCsv([{ ...rows[0]!, notes: 'a, "b"' }]);
  assert.ok(text.startsWith("provider,model_id,input_per_1m,cached_input_per_1m,"));
  assert.ok(text.endsWith(',"a, ""b"""\n'));
});

Deno.test("the committed default price CSVs equal what the pinned database and the overrides give", async () => {
  const expected = await expectedCsvs();
  assert.equal(expected.size, PRICED_SLUGS.length);
  for (const [path, text] of expected) {
    assert.equal(await Deno.readTextFile(new URL(`../../${path}`, import.meta.url)), text, `${path} is stale`);
  }
});

Deno.test("the seeds keep the models the hand-kept CSVs priced before", async () => {
  const expected = await expectedCsvs();
  const ids = (slug: string) =>
    new Set(expected.get(`configs/${slug}/seed/data/default_pricing.csv`)!.split("\n").map((l) => l.split(",")[1]));
  for (const id of ["gpt-5.5", "gpt-4o", "gpt-4o-2024-05-13", "o3", "gpt-4.1-nano", "gpt-3.5-turbo"]) {
    assert.ok(ids("openai").has(id), id);
  }
  for (const id of ["claude-opus-4-7", "claude-opus-4", "claude-sonnet-4", "claude-3-7-sonnet", "claude-3-5-haiku"]) {
    assert.ok(ids("anthropic").has(id), id);
  }
  assert.equal(expected.has("configs/deepseek/seed/data/default_pricing.csv"), false, "DeepSeek has no usage to price");
});
