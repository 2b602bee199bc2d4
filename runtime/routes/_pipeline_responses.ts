/**
 * What a setup or integration pipeline route answers: the merge of its steps' processor responses (runSync), so
 * each processor's response is described once here, by `psType`. Data pipelines answer with the run instead.
 */
import { z } from "zod";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { instant } from "./_schemas.ts";
import { seedFlag } from "../../src/pricing/seed.ts";

const validated = {
  success: z.literal(true),
  provider: z.string().meta({ description: "The provider, e.g. openai" }),
  validation_status: z.literal("VALID"),
  message: z.string(),
};
const validation = { ...validated, last_validated_at: instant.optional() };

/** Response fields of each processor that answers a synchronous pipeline route. */
const RESPONSES: Readonly<Record<string, z.core.$ZodLooseShape>> = {
  "setup.initial.onetime_bootstrap": {
    status: z.literal("SUCCESS"),
    dataset_id: z.string(),
    dataset_recreated: z.boolean(),
    tables_created: z.array(z.string()),
    tables_existing: z.array(z.string()),
    total_tables: z.number().int().min(0),
  },
  "setup.organizations.dryrun": {
    status: z.enum(["SUCCESS", "FAILED"]),
    ready_for_onboarding: z.boolean(),
    org_slug: z.string(),
    dataset_id: z.string(),
    subscription_plan: z.string(),
    checks: z.array(z.object({ name: z.string(), passed: z.boolean(), message: z.string() })),
  },
  "setup.organizations.onboarding": {
    status: z.literal("SUCCESS"),
    org_slug: z.string(),
    api_key: z.string().meta({ description: "The org's API key: shown once, store it now" }),
    api_key_fingerprint: z.string(),
    dataset_id: z.string(),
    dataset_created: z.boolean(),
    repaired: z.boolean().meta({ description: "A half-onboarded slug was completed" }),
    subscription_plan: z.string(),
    limits: z.object({
      max_pipelines_per_day: z.number().int(),
      max_pipelines_per_month: z.number().int(),
      max_concurrent_pipelines: z.number().int(),
    }),
    message: z.string(),
  },
  "integrations.kms_store": {
    ...validated,
    credential_fingerprint: z.string(),
    configured_at: instant,
    metadata: z.record(z.string(), z.unknown()).optional().meta({ description: "Public details (e.g. project)" }),
  },
  "integrations.kms_decrypt": {},
  "integrations.validate_openai": validation,
  "integrations.validate_anthropic": validation,
  "integrations.validate_deepseek": validation,
  "integrations.validate_gcp": validation,
};

/** `integrations.seed` answers `pricing_*`, `unit_pricing_*` or `subscriptions_*` by the table it seeds. */
function seedShape(table: string | undefined): z.core.$ZodLooseShape {
  const flag = seedFlag(table);
  return {
    [`${flag}_initialized`]: z.boolean().meta({ description: "Defaults were written (none existed)" }),
    [`${flag}_rows`]: z.number().int().min(0),
  };
}

/** The response of a synchronous pipeline: its steps' response fields, a later step's winning. */
export function pipelineResponse(p: PipelineModule): z.ZodObject {
  let shape: z.core.$ZodLooseShape = {};
  for (const step of p.steps) {
    const own = step.psType === "integrations.seed" ? seedShape(step.seed?.table) : RESPONSES[step.psType];
    if (!own) {
      throw new Error(`No response schema for processor "${step.psType}" (runtime/routes/_pipeline_responses.ts)`);
    }
    shape = { ...shape, ...own };
  }
  return z.object(shape);
}
