/** The OpenAI processors: usage and billed costs from the Admin API, list-price cost, monthly plan fees. */
import type { Processor } from "../registry.ts";
import { openaiUsageProcessor } from "./usage.ts";
import { openaiCostsProcessor } from "./costs.ts";
import { openaiCostProcessor } from "./cost.ts";
import { openaiSubscriptionsProcessor } from "./subscriptions.ts";

export { BATCH_DISCOUNT, priceOpenAIUsage } from "./cost.ts";
export { monthDays, monthlyFee } from "./subscriptions.ts";

/** Every OpenAI processor, for the registry. */
export const openaiProcessors: readonly Processor[] = [
  openaiUsageProcessor,
  openaiCostsProcessor,
  openaiCostProcessor,
  openaiSubscriptionsProcessor,
];
