/**
 * Processors: specs (type + zod config, what the compiler validates against) and the implementations
 * the runtime runs, collected in {@link defaultProcessors}.
 * @module
 */
import { ProcessorRegistry } from "./registry.ts";
import { bootstrapProcessor } from "./setup/bootstrap.ts";
import { dryrunProcessor } from "./setup/dryrun.ts";
import { onboardingProcessor } from "./setup/onboarding.ts";
import { validateProcessors } from "./integrations/validate.ts";
import { kmsDecryptProcessor, kmsStoreProcessor } from "./integrations/store.ts";
import { seedProcessor } from "./integrations/seed.ts";
import { emailProcessor } from "./notify/email.ts";
import { slackProcessor } from "./notify/slack.ts";
import { deepseekBalanceProcessor } from "./deepseek/balance.ts";
import { deepseekCostProcessor } from "./deepseek/cost.ts";
import { gcpBillingProcessor } from "./gcp/bq_etl.ts";
import { openaiProcessors } from "./openai/mod.ts";
import { anthropicProcessors } from "./anthropic/mod.ts";
import { unitCostProcessor } from "./unit_cost.ts";

export { defineProcessor, type Processor, ProcessorRegistry } from "./registry.ts";
export { PROCESSOR_SPECS, type ProcessorConfig, type ProcessorConfigs } from "./specs.ts";
export type { ProcessorContext, ProcessorEnv, StepResult } from "./context.ts";

/** A registry with every implemented processor. */
export function defaultProcessors(): ProcessorRegistry {
  return new ProcessorRegistry([
    bootstrapProcessor,
    dryrunProcessor,
    onboardingProcessor,
    ...validateProcessors,
    kmsStoreProcessor,
    kmsDecryptProcessor,
    seedProcessor,
    emailProcessor,
    slackProcessor,
    deepseekBalanceProcessor,
    deepseekCostProcessor,
    gcpBillingProcessor,
    ...openaiProcessors,
    ...anthropicProcessors,
    unitCostProcessor,
  ]);
}
