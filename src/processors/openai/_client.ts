/** The OpenAI client of a run and the unix-second window of its UTC days. */
import { OpenAIClient } from "../../providers/mod.ts";
import type { ProcessorContext } from "../context.ts";
import { addDays, type DayRange, dayStartMs, providerOptions, runScope } from "../_cost.ts";

/** A client for the run's decrypted Admin key, on the configured base URL, bound to the run's abort signal. */
export function openAIClient(ctx: ProcessorContext): OpenAIClient {
  const { credential } = runScope(ctx);
  return new OpenAIClient({ apiKey: credential, baseUrl: ctx.env.openaiBaseUrl, ...providerOptions(ctx) });
}

/** `start_time` (first day 00:00 UTC, inclusive) and `end_time` (the day after the last, exclusive) in seconds. */
export function unixWindow(range: DayRange): { start: number; end: number } {
  return { start: dayStartMs(range.from) / 1000, end: dayStartMs(addDays(range.to, 1)) / 1000 };
}
