/** Every processor the DSL knows, by `ps_type`. Implementations live beside them in src/processors/. */
import { z } from "zod";
import { defineProcessorSpec, type ProcessorSpec, tableName } from "./spec.ts";
import { CREDENTIAL_KEYS, PRICED_SLUGS, PROVIDERS } from "../providers/catalogue.ts";
import { OPENAI_USAGE_ENDPOINT_NAMES, OPENAI_USAGE_ENDPOINTS } from "../providers/openai_usage.ts";
import { OPENAI_COSTS_GROUP_BY } from "../providers/openai.ts";
import { METERED_PROVIDERS } from "../pricing/meters.ts";

const credentialProvider = z.enum(CREDENTIAL_KEYS);
const timeout = z.int().min(100).max(120_000).default(15_000);
const pageLimit = (max: number) => z.int().min(1).max(max).default(max);

export const bootstrapSpec = defineProcessorSpec({
  type: "setup.initial.onetime_bootstrap",
  description: "Creates the central dataset and every meta table declared by the step",
  config: z.strictObject({ dataset: z.string().regex(/^[a-z][a-z0-9_]*$/).default("organizations") }),
});

export const dryrunSpec = defineProcessorSpec({
  type: "setup.organizations.dryrun",
  description: "Validates an onboarding request and creates nothing",
  config: z.strictObject({ require_bootstrap: z.boolean().default(true) }),
});

export const onboardingSpec = defineProcessorSpec({
  type: "setup.organizations.onboarding",
  description: "Creates the org profile, subscription, quotas, API key and dataset",
  config: z.strictObject({ api_key_random_chars: z.int().min(16).max(64).default(24) }),
});

export const validateSpecs = PROVIDERS.map((p) =>
  defineProcessorSpec({
    type: p.validator,
    description: `Validates a ${p.slug} credential with the cheapest read of the endpoint it will be used for`,
    config: z.strictObject({ timeout_ms: timeout }),
  })
);

export const kmsStoreSpec = defineProcessorSpec({
  type: "integrations.kms_store",
  description: "Encrypts a validated credential with a fresh data key and stores it",
  config: z.strictObject({ provider: credentialProvider }),
});

export const kmsDecryptSpec = defineProcessorSpec({
  type: "integrations.kms_decrypt",
  description: "Decrypts the stored credential of the org for the following steps",
  config: z.strictObject({ provider: credentialProvider }),
});

export const seedSpec = defineProcessorSpec({
  type: "integrations.seed",
  description: "Loads the step's seed rows for the org where none exist yet",
  config: z.strictObject({ provider: z.enum(PRICED_SLUGS) }),
});

const openaiUsageGroupBy = [...new Set(Object.values(OPENAI_USAGE_ENDPOINTS).flatMap((e) => e.groupBy))] as [
  string,
  ...string[],
];

export const openaiUsageSpec = defineProcessorSpec({
  type: "openai.usage",
  description:
    "Pulls one OpenAI Usage API endpoint (completions, embeddings, images, ...) in daily buckets, every page",
  config: z.strictObject({
    endpoint: z.enum(OPENAI_USAGE_ENDPOINT_NAMES).default("completions"),
    bucket_width: z.enum(["1d"]).default("1d"),
    // The default suits the model endpoints; vector_stores, code_interpreter_sessions and file_search_calls
    // (no model dimension) must say their group_by.
    group_by: z.array(z.enum(openaiUsageGroupBy)).default(["model", "project_id"]),
    page_limit: pageLimit(31),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }).superRefine((config, ctx) => {
    const allowed: readonly string[] = OPENAI_USAGE_ENDPOINTS[config.endpoint].groupBy;
    config.group_by.forEach((g, i) => {
      if (!allowed.includes(g)) {
        ctx.addIssue({
          code: "custom",
          path: ["group_by", i],
          message: `Field "group_by" of endpoint ${config.endpoint} must be one of ${allowed.join(", ")}, not "${g}"`,
        });
      }
    });
  }),
  requiresOutput: true,
});

export const openaiCostsSpec = defineProcessorSpec({
  type: "openai.costs",
  description: "Pulls OpenAI billed costs per day and line item",
  config: z.strictObject({
    group_by: z.array(z.enum(OPENAI_COSTS_GROUP_BY)).default(["line_item", "project_id"]),
    page_limit: pageLimit(180),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }),
  requiresOutput: true,
});

const transform = (type: string, description: string) =>
  defineProcessorSpec({
    type,
    description,
    config: z.strictObject({
      source_table: tableName,
      billed_table: tableName.optional(),
      start_date: z.string().default("{{ params.start_date }}"),
      end_date: z.string().default("{{ params.end_date }}"),
    }),
    requiresOutput: true,
    tableRefs: { source_table: "output", billed_table: "output" },
  });

export const openaiCostSpec = transform("openai.cost", "Prices OpenAI usage per day at the effective model prices");
export const anthropicCostSpec = transform(
  "anthropic.cost",
  "Prices Anthropic usage per day, cache reads and writes at their own rates",
);
export const deepseekCostSpec = transform("deepseek.cost", "Derives DeepSeek daily spend from drops in balance");

export const unitCostSpec = defineProcessorSpec({
  type: "usage.unit_cost",
  description:
    "Prices usage billed by a unit other than tokens (the provider's meters) per day at the effective unit prices, in the warehouse",
  config: z.strictObject({
    provider: z.enum(METERED_PROVIDERS),
    billed_table: tableName.optional(),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }),
  requiresOutput: true,
  tableRefs: { billed_table: "output" },
});

export const openaiSubscriptionsSpec = defineProcessorSpec({
  type: "openai.subscriptions",
  description: "Writes the month's OpenAI subscription rows from the org's plan table",
  config: z.strictObject({ month: z.string().default("{{ params.month }}") }),
  requiresOutput: true,
});

export const anthropicUsageSpec = defineProcessorSpec({
  type: "anthropic.usage",
  description: "Pulls the Anthropic messages usage report in daily buckets, every page",
  config: z.strictObject({
    bucket_width: z.enum(["1d"]).default("1d"),
    group_by: z.array(z.enum(["model", "workspace_id", "api_key_id", "service_tier"])).default(["model"]),
    page_limit: pageLimit(31),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }),
  requiresOutput: true,
});

export const anthropicCostReportSpec = defineProcessorSpec({
  type: "anthropic.cost_report",
  description: "Pulls Anthropic billed amounts (decimal strings in cents) per day",
  config: z.strictObject({
    page_limit: pageLimit(31),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }),
  requiresOutput: true,
});

export const deepseekBalanceSpec = defineProcessorSpec({
  type: "deepseek.balance",
  description: "Records the DeepSeek balance snapshot for the run date",
  config: z.strictObject({ date: z.string().default("{{ params.date }}") }),
  requiresOutput: true,
});

export const gcpBillingSpec = defineProcessorSpec({
  type: "gcp.bq_etl",
  description: "Copies the org's Cloud Billing export rows for the run's dates, net of credits",
  config: z.strictObject({
    source: z.enum(["billing_export"]).default("billing_export"),
    start_date: z.string().default("{{ params.start_date }}"),
    end_date: z.string().default("{{ params.end_date }}"),
  }),
  requiresOutput: true,
});

export const emailSpec = defineProcessorSpec({
  type: "notify_systems.email_notification",
  description: "Sends an email over SMTP (STARTTLS) about a run",
  config: z.strictObject({
    to: z.array(z.email()).optional(),
    subject_prefix: z.string().max(80).default("[Convergence]"),
    smtp_host_env: z.string().default("SMTP_HOST"),
  }),
});

export const slackSpec = defineProcessorSpec({
  type: "notify_systems.slack_notification",
  description: "Posts a run summary to a Slack incoming webhook",
  config: z.strictObject({
    webhook_url_env: z.string().default("SLACK_WEBHOOK_URL"),
    allowed_hosts: z.array(z.string()).default(["hooks.slack.com"]),
    mention: z.string().max(80).optional(),
  }),
});

const all = [
  bootstrapSpec,
  dryrunSpec,
  onboardingSpec,
  ...validateSpecs,
  kmsStoreSpec,
  kmsDecryptSpec,
  seedSpec,
  openaiUsageSpec,
  openaiCostsSpec,
  openaiCostSpec,
  openaiSubscriptionsSpec,
  anthropicUsageSpec,
  anthropicCostReportSpec,
  anthropicCostSpec,
  unitCostSpec,
  deepseekBalanceSpec,
  deepseekCostSpec,
  gcpBillingSpec,
  emailSpec,
  slackSpec,
] as const;

type AnySpec = typeof all[number];
/** The parsed `with:` config of each processor, by `ps_type`: generated modules `satisfies` these. */
export type ProcessorConfigs = { [S in AnySpec as S["type"]]: z.output<S["config"]> };
export type ProcessorConfig<T extends keyof ProcessorConfigs> = ProcessorConfigs[T];

/** The processor registry the compiler validates against, keyed by `ps_type`. */
export const PROCESSOR_SPECS: ReadonlyMap<string, ProcessorSpec> = new Map(
  all.map((s): [string, ProcessorSpec] => [s.type, s]),
);
