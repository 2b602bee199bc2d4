/** The Anthropic client of a run and the RFC 3339 window of its UTC days. */
import { AnthropicClient } from "../../providers/mod.ts";
import type { ProcessorContext } from "../context.ts";
import { type CheckedRange, providerOptions, runScope } from "../_cost.ts";
import { addDays, isoDay } from "../../time/day.ts";

/** A client for the run's decrypted Admin key, on the configured base URL, bound to the run's abort signal. */
export function anthropicClient(ctx: ProcessorContext): AnthropicClient {
  const { credential } = runScope(ctx);
  return new AnthropicClient({ apiKey: credential, baseUrl: ctx.env.anthropicBaseUrl, ...providerOptions(ctx) });
}

/** `starting_at` (first day 00:00Z, inclusive) and `ending_at` (the day after the last, exclusive). */
export function rfc3339Window(range: CheckedRange): { startingAt: string; endingAt: string } {
  return { startingAt: `${isoDay(range.first)}T00:00:00Z`, endingAt: `${isoDay(addDays(range.last, 1))}T00:00:00Z` };
}
