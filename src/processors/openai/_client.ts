/** The OpenAI client of a run and the unix-second window of its UTC days. */
import { OpenAIClient } from "../../providers/mod.ts";
import type { ProcessorContext } from "../context.ts";
import { type CheckedRange, providerOptions, runScope } from "../_cost.ts";
import { addDays, startOfDay } from "../../time/day.ts";

/** A client for the run's decrypted Admin key, on the configured base URL, bound to the run's abort signal. */
export function openAIClient(ctx: ProcessorContext): OpenAIClient {
  const { credential } = runScope(ctx);
  return new OpenAIClient({ apiKey: credential, baseUrl: ctx.env.openaiBaseUrl, ...providerOptions(ctx) });
}

/** `start_time` (first day 00:00 UTC, inclusive) and `end_time` (the day after the last, exclusive) in seconds. */
export function unixWindow(range: CheckedRange): { start: number; end: number } {
  return { start: startOfDay(range.first).getTime() / 1000, end: startOfDay(addDays(range.last, 1)).getTime() / 1000 };
}
