/** The Anthropic processors: messages usage and the cost report from the Admin API, and list-price cost. */
import type { Processor } from "../registry.ts";
import { anthropicUsageProcessor } from "./usage.ts";
import { anthropicCostReportProcessor } from "./cost_report.ts";
import { anthropicCostProcessor } from "./cost.ts";

export { BATCH_TIER_DISCOUNT, priceAnthropicUsage } from "./cost.ts";

/** Every Anthropic processor, for the registry. */
export const anthropicProcessors: readonly Processor[] = [
  anthropicUsageProcessor,
  anthropicCostReportProcessor,
  anthropicCostProcessor,
];
