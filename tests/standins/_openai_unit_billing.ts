/**
 * What the OpenAI stand-in bills for usage priced by a unit other than tokens (images, characters, seconds,
 * vector storage, sessions, tool calls): a cost line per usage row, at the prices of a unit-price CSV in the seed's
 * format (by default the product's own defaults, configs/openai/seed/data/default_unit_pricing.csv, so a test can
 * show the reconciliation MATCHED to the cent), optionally marked up so tests can show OVER. The stand-in's own
 * mapping from each usage endpoint to its billed measure; line items are `"<model>, <unit>"` (OpenAI names a model
 * line by its model first) or the unit alone for usage without a model. Test fixture, not product code.
 */
import { parseCsv } from "../../compiler/validate_tables.ts";
import { isoDay } from "../providers/standin_kit.ts";
import type { OpenAICostLine } from "./openai.ts";

/** The product's default unit prices. */
export const DEFAULT_UNIT_PRICES = new URL("../../configs/openai/seed/data/default_unit_pricing.csv", import.meta.url);

/** One unit price of the CSV: `unit_price` per `units_per_pricing_unit` consumed units, in force [from, to). */
interface UnitPrice {
  meter: string;
  model: string;
  variant: string;
  /** Price of one consumed unit in 1e-9 dollars (the CSV's prices are exact at 9 decimals per unit). */
  perUnit: bigint;
  from: string;
  to: string | null;
}

/** The billed measure of each endpoint: meter, quantity field, model and variant fields, line label. */
const BILLED: Record<string, { meter: string; quantity: string; model?: string; variant?: string; label: string }> = {
  images: { meter: "image", quantity: "images", model: "model", variant: "size", label: "images" },
  audio_speeches: { meter: "speech_character", quantity: "characters", model: "model", label: "characters" },
  audio_transcriptions: { meter: "transcription_second", quantity: "seconds", model: "model", label: "seconds" },
  vector_stores: { meter: "vector_store_gb_day", quantity: "usage_bytes", label: "vector store storage" },
  code_interpreter_sessions: {
    meter: "code_interpreter_session",
    quantity: "num_sessions",
    label: "code interpreter sessions",
  },
  file_search_calls: { meter: "file_search_call", quantity: "num_requests", label: "file search tool calls" },
  web_search_calls: {
    meter: "web_search_call",
    quantity: "num_requests",
    model: "model",
    variant: "context_level",
    label: "web search tool calls",
  },
};

/** A decimal string as a count of 1e-9. */
function nano(text: string): bigint {
  const [whole, fraction = ""] = text.split(".");
  return BigInt(whole! + fraction.padEnd(9, "0").slice(0, 9));
}

/** Reads a unit-price CSV in the seed's format. */
export function readUnitPrices(path: URL | string = DEFAULT_UNIT_PRICES): UnitPrice[] {
  const [head, ...rows] = parseCsv(Deno.readTextFileSync(path));
  const at = (name: string) => head!.cells.indexOf(name);
  return rows.map(({ cells }) => {
    const perPricingUnit = nano(cells[at("unit_price")]!);
    const units = BigInt(cells[at("units_per_pricing_unit")]!);
    if (perPricingUnit % units !== 0n) throw new Error(`Unit price ${cells.join(",")} is not exact per unit`);
    return {
      meter: cells[at("meter")]!,
      model: cells[at("model_id")]!,
      variant: cells[at("variant")]!,
      perUnit: perPricingUnit / units,
      from: cells[at("effective_from")]!,
      to: cells[at("effective_to")] || null,
    };
  });
}

/** The most specific price in force on `day`: exact model, then its undated id, then `*`; exact variant, then `*`. */
function priceOf(
  prices: readonly UnitPrice[],
  meter: string,
  model: string | null,
  variant: string | null,
  day: string,
) {
  const undated = model?.replace(/-\d{4}-\d{2}-\d{2}$|-\d{8}$|-\d{4}$/, "") ?? null;
  const rank = (p: UnitPrice) =>
    (p.model === model ? 20 : p.model === undated ? 10 : 0) + (p.variant === variant ? 1 : 0);
  return prices
    .filter((p) => p.meter === meter && p.from <= day && (p.to === null || day < p.to))
    .filter((p) => p.model === "*" || p.model === model || p.model === undated)
    .filter((p) => p.variant === "*" || p.variant === variant)
    .sort((a, b) => rank(b) - rank(a))[0];
}

/**
 * The cost lines of an endpoint's usage rows of the UTC day starting at `dayStart` (unix seconds), in 1e-12
 * dollars; usage without a price is billed at nothing (a test of UNPRICED sets its own prices).
 * @param markup billed = list x (1 + markup), e.g. 0.1 for 10% more
 */
export function unitCostLines(
  endpoint: string,
  rows: readonly Record<string, unknown>[],
  dayStart: number,
  prices: readonly UnitPrice[],
  markup = 0,
): OpenAICostLine[] {
  const billed = BILLED[endpoint];
  if (!billed) return [];
  const day = isoDay(dayStart * 1000);
  return rows.flatMap((row) => {
    const measure = Number(row[billed.quantity] ?? 0);
    const model = billed.model ? (row[billed.model] as string | null) : null;
    const price = priceOf(prices, billed.meter, model, billed.variant ? (row[billed.variant] as string) : null, day);
    if (measure === 0 || !price) return [];
    // The consumed quantity in 1e-9 units (vector storage is billed per GB of 10^9 bytes: bytes are 1e-9 GB).
    const quantityNano = billed.meter === "vector_store_gb_day" ? BigInt(measure) : nano(String(measure));
    // 1e-9 units x 1e-9 dollars per unit = 1e-18 dollars; the line is in 1e-12.
    const pico = quantityNano * price.perUnit / 1_000_000n;
    const units = pico * BigInt(Math.round((1 + markup) * 1000)) / 1000n;
    return [{
      line_item: model ? `${model}, ${billed.label}` : billed.label,
      project_id: (row.project_id as string | null) ?? null,
      user_id: (row.user_id as string | null) ?? null,
      api_key_id: (row.api_key_id as string | null) ?? null,
      api_source: (row.api_source as string | null) ?? null,
      quantity: measure,
      quantity_unit: billed.label,
      units,
    }];
  });
}
