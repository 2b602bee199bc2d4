/**
 * Meters: provider usage billed by a unit other than tokens, one entry per billable measure of a raw usage table.
 * The unit prices (organizations.org_unit_pricing, seeded from configs/<provider>/seed/data/default_unit_pricing.csv)
 * name a meter, the unit-cost SQL (src/central/_unit_cost_sql.ts) reads each meter's table and quantity from here,
 * and the docs (README "Unit prices") describe the same list. A meter is added by one entry here and its price rows.
 *
 * - `quantity` is the raw table's column of the measure (times `factor`, when the unit is converted), summed per
 *   (day, model, variant, sub-account): the consumed quantity in `consumedUnit`.
 * - `model` / `variant` name the raw column that picks a price (null: the meter has none, prices use `*`).
 * - A price row says how many consumed units one pricing unit holds (`units_per_pricing_unit`: 1000 requests, 60
 *   seconds, 1,000,000 characters, ...): cost = quantity / units_per_pricing_unit x unit_price.
 */
import type { PricedSlug } from "../providers/catalogue.ts";

/** A provider priced from usage (the catalogue's token-priced providers); not every one has meters. */
export type MeteredProvider = PricedSlug;

/** One billable measure of a raw usage table. */
export interface Meter {
  readonly provider: MeteredProvider;
  /** The meter's id in the price table, e.g. `image`. */
  readonly meter: string;
  /** The raw usage table (in the org's dataset). */
  readonly table: string;
  /** The column holding the measure of one row. */
  readonly quantity: string;
  /** The measure times this decimal is the consumed quantity (bytes to GB: "0.000000001"); default 1. */
  readonly factor?: string;
  /** FOCUS ConsumedUnit of `quantity`. */
  readonly consumedUnit: string;
  /** The column naming the model, or null. */
  readonly model: string | null;
  /** The column naming the price variant (image size, search context size), or null. */
  readonly variant: string | null;
  /** The column naming the sub-account (OpenAI project, Anthropic workspace). */
  readonly subAccount: string;
  /** Shown as the cost line's service, e.g. `OpenAI API: image`. */
  readonly service: string;
  /** What the meter bills, for the docs and the price table's notes. */
  readonly describe: string;
  /**
   * Where the provider bills the meter on lines of its own: the `cost_type` of those lines in the step's billed table
   * (which has the meter's model and sub-account columns, `cost_type`, `currency` and `amount`).
   */
  readonly billedLines?: { readonly costType: string; readonly amount: string };
}

/** One byte in GB as OpenAI bills vector storage (decimal gigabytes, 10^9 bytes), exact at 9 decimals. */
export const GB_PER_BYTE = "0.000000001";

export const METERS: readonly Meter[] = [
  {
    provider: "openai",
    meter: "image",
    table: "openai_images_usage_daily_raw",
    quantity: "images",
    consumedUnit: "Images",
    model: "model",
    variant: "size",
    subAccount: "project_id",
    service: "OpenAI API: images",
    describe:
      "Images generated, edited or varied, by model and size; the usage API reports no quality, so the standard-quality price is applied",
  },
  {
    provider: "openai",
    meter: "speech_character",
    table: "openai_audio_speeches_usage_daily_raw",
    quantity: "characters",
    consumedUnit: "Characters",
    model: "model",
    variant: null,
    subAccount: "project_id",
    service: "OpenAI API: text to speech",
    describe: "Characters of input text turned into speech, by model",
  },
  {
    provider: "openai",
    meter: "transcription_second",
    table: "openai_audio_transcriptions_usage_daily_raw",
    quantity: "seconds",
    consumedUnit: "Seconds",
    model: "model",
    variant: null,
    subAccount: "project_id",
    service: "OpenAI API: transcription",
    describe: "Seconds of audio transcribed, by model",
  },
  {
    provider: "openai",
    meter: "vector_store_gb_day",
    table: "openai_vector_stores_usage_daily_raw",
    quantity: "usage_bytes",
    factor: GB_PER_BYTE,
    consumedUnit: "GB-Days",
    model: null,
    variant: null,
    subAccount: "project_id",
    service: "OpenAI API: vector storage",
    describe:
      "Vector storage held on the day, in decimal GB (10^9 bytes) x 1 day; the free first GB of the organization is not deducted",
  },
  {
    provider: "openai",
    meter: "code_interpreter_session",
    table: "openai_code_interpreter_sessions_usage_daily_raw",
    quantity: "num_sessions",
    consumedUnit: "Sessions",
    model: null,
    variant: null,
    subAccount: "project_id",
    service: "OpenAI API: code interpreter",
    describe: "Code interpreter sessions (containers) started",
  },
  {
    provider: "openai",
    meter: "file_search_call",
    table: "openai_file_search_calls_usage_daily_raw",
    quantity: "num_requests",
    consumedUnit: "Requests",
    model: null,
    variant: null,
    subAccount: "project_id",
    service: "OpenAI API: file search",
    describe: "File search tool calls",
  },
  {
    provider: "openai",
    meter: "web_search_call",
    table: "openai_web_search_calls_usage_daily_raw",
    quantity: "num_requests",
    consumedUnit: "Requests",
    model: "model",
    variant: "context_level",
    subAccount: "project_id",
    service: "OpenAI API: web search",
    describe: "Web search tool calls, by model and search context size",
  },
  {
    provider: "anthropic",
    meter: "web_search_request",
    table: "anthropic_usage_daily_raw",
    quantity: "web_search_requests",
    consumedUnit: "Requests",
    model: "model",
    variant: null,
    subAccount: "workspace_id",
    service: "Claude API: web search",
    describe: "Server-side web search requests (server_tool_use.web_search_requests), by model",
    billedLines: { costType: "web_search", amount: "amount_usd" },
  },
];

/** The providers that have meters, in the order of METERS. */
export const METERED_PROVIDERS = [...new Set(METERS.map((m) => m.provider))] as [MeteredProvider, ...MeteredProvider[]];

/** The meters of `provider`. */
export function metersOf(provider: MeteredProvider): readonly Meter[] {
  return METERS.filter((m) => m.provider === provider);
}

/** The meter ids of `provider`, for request validation and the seed check. */
export function meterIds(provider: MeteredProvider): string[] {
  return metersOf(provider).map((m) => m.meter);
}
