/**
 * The pipeline DSL (v1): zod schemas for every YAML file under configs/.
 * Strict objects throughout, so a misspelt key is an error rather than ignored.
 */
import { z } from "zod";
import { PROVIDER_SLUGS, type ProviderSlug } from "../src/providers/catalogue.ts";
import { RELOAD_LIMITS } from "../src/scheduler/calendar.ts";

const snake = z.string().regex(/^[a-z][a-z0-9_]*$/, "must be snake_case");
const kebab = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, "must be kebab-case");
const configPath = z.string().regex(/^[a-z0-9_][a-z0-9_./-]*$/, "must be a path relative to configs/")
  .refine((p) => !p.split("/").includes(".."), "must not leave configs/");

/** Providers a pipeline may depend on (the catalogue's slugs); the credential rows use the upper-case names. */
export const PROVIDERS = PROVIDER_SLUGS;
export type Provider = ProviderSlug;

export const PARAM_TYPES = ["date", "string", "integer", "number", "boolean"] as const;

export const paramSpec = z.strictObject({
  type: z.enum(PARAM_TYPES),
  description: z.string().optional(),
  required: z.boolean().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  enum: z.array(z.string()).min(1).optional(),
  pattern: z.string().optional(),
  format: z.enum(["email", "json"]).optional(),
  min_length: z.int().min(0).optional(),
  max_length: z.int().min(1).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  secret: z.boolean().optional(),
  /**
   * Shorthand for other params of the same type: a request that gives this param gives each of them its value
   * (`date` for `start_date` and `end_date`). Giving the shorthand and one of them is a 400; two shorthands of one
   * param must agree. A shorthand has no default and no template may read it.
   */
  alias_of: z.array(snake).min(1).optional(),
  /** Why shorthands of one param must agree, added to the 400 when they differ. */
  alias_note: z.string().optional(),
});
export type ParamSpec = z.output<typeof paramSpec>;

/**
 * The one write mode: every output is a day-partitioned table re-written atomically over the run's range (SPEC).
 * `append`, `truncate` and `merge` were never used by a config and are refused with this message.
 */
export const WRITE_MODES = ["replace_partitions"] as const;
const writeMode = z.enum(WRITE_MODES, {
  error: (i) =>
    `write mode ${JSON.stringify(i.input)} is not supported: outputs are written with "replace_partitions" ` +
    `(re-running a range replaces its days, never duplicates them)`,
});

/** A table's default name: its schema file's name, `openai/schemas/openai_cost_daily.json` -> `openai_cost_daily`. */
export function tableOfSchema(schema: string): string {
  return schema.slice(schema.lastIndexOf("/") + 1).replace(/\.json$/, "");
}

/** `table:` may be omitted wherever a `schema:` is named: it defaults to the schema file's name. */
function withTable<T extends { table?: string; schema: string }>(o: T): T & { table: string } {
  return { ...o, table: o.table ?? tableOfSchema(o.schema) };
}

const snakeTable = (o: { table: string }) => /^[a-z][a-z0-9_]*$/.test(o.table);
const tableNameIssue = {
  message: "schema file name must be a snake_case table name, or name the table with table:",
  path: ["schema"],
};

export const outputSpec = z.strictObject({
  table: snake.optional(),
  schema: configPath,
  dataset: z.enum(["org", "central"]).default("org"),
  write: writeMode,
  partition_field: snake.optional(),
}).transform(withTable).refine(snakeTable, tableNameIssue);

export const tableRef = z.strictObject({
  table: snake.optional(),
  schema: configPath,
  dataset: z.enum(["org", "central"]).default("central"),
}).transform(withTable).refine(snakeTable, tableNameIssue);

export const seedSpec = z.strictObject({
  table: snake.optional(),
  schema: configPath,
  data: configPath,
}).transform(withTable).refine(snakeTable, tableNameIssue);

export const DQ_CHECKS = ["not_null", "unique", "non_negative", "min_rows"] as const;
export const dqCheck = z.strictObject({
  name: snake,
  check: z.enum(DQ_CHECKS),
  columns: z.array(snake).min(1).optional(),
  /** not_null / non_negative: columns whose distinct values among the failing rows the message names (at most 10). */
  report_by: z.array(snake).min(1).max(3).optional(),
  value: z.number().optional(),
  severity: z.enum(["warn", "error"]).default("warn"),
});

export const stepSpec = z.strictObject({
  id: snake,
  ps_type: z.string().min(1),
  description: z.string().optional(),
  depends_on: z.array(snake).optional(),
  with: z.record(z.string(), z.unknown()).optional(),
  output: outputSpec.optional(),
  tables: z.array(tableRef).min(1).optional(),
  seed: seedSpec.optional(),
  checks: z.array(dqCheck).optional(),
});

export const notifyEntry = z.strictObject({
  ps_type: z.string().min(1),
  with: z.record(z.string(), z.unknown()).optional(),
});
export const NOTIFY_TRIGGERS = ["on_failure", "on_success", "on_completion", "always"] as const;
export const notifySpec = z.strictObject({
  on_failure: z.array(notifyEntry).optional(),
  on_success: z.array(notifyEntry).optional(),
  on_completion: z.array(notifyEntry).optional(),
  always: z.array(notifyEntry).optional(),
});

export const routeSpec = z.strictObject({
  method: z.enum(["GET", "POST", "PUT", "DELETE"]),
  path: z.string().regex(/^(\/[a-z0-9_{}-]+)+$/, "must be a path like /admin/bootstrap"),
  auth: z.enum(["root", "org", "root_or_org", "none"]),
  status: z.int().min(200).max(299).default(200),
});

/** `schedule`: daily, monthly, or a five-field cron expression. */
export const scheduleSpec = z.string().regex(
  /^(daily|monthly|(\S+\s+){4}\S+)$/,
  "must be daily, monthly or a five-field cron expression",
);

/**
 * `reload`: the days a scheduled daily run re-pulls besides its logical day D, because providers restate recent
 * days (late rows, corrections): the trailing `trailing_days` days ending at D, and on days 1..`previous_month_until_day`
 * of a month the whole previous month too (0: never). Still one run; its outputs replace those days.
 */
/** A whole number in `[min, max]`, with one message naming the field and its bounds for every way it can fail. */
function boundedInt(field: string, what: string, { min, max }: { min: number; max: number }) {
  const error = `${field} must be a whole number ${what} from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}
export const reloadSpec = z.strictObject({
  trailing_days: boundedInt("trailing_days", "of days", RELOAD_LIMITS.trailingDays),
  previous_month_until_day: boundedInt(
    "previous_month_until_day",
    "(a day of the month, 0: never)",
    RELOAD_LIMITS.previousMonthUntilDay,
  )
    .default(0),
});
export type ReloadSpec = z.output<typeof reloadSpec>;

export const pipelineConfig = z.strictObject({
  id: kebab,
  description: z.string().min(1),
  kind: z.enum(["data", "system", "integration"]).default("data"),
  integration: z.enum(PROVIDERS).optional(),
  schedule: scheduleSpec.optional(),
  route: routeSpec.optional(),
  timeout_minutes: z.int().min(1).max(24 * 60).default(30),
  retry: z.strictObject({ attempts: z.int().min(0).max(10), backoff_seconds: z.int().min(1).max(3600) }).optional(),
  params: z.record(snake, paramSpec).default({}),
  reload: reloadSpec.optional(),
  steps: z.array(stepSpec).min(1),
  notify: notifySpec.optional(),
});
export type PipelineConfig = z.output<typeof pipelineConfig>;

/** What a pipeline of one kind gets for a key it omits. */
export const kindDefaults = z.strictObject({
  params: z.record(snake, paramSpec).optional(),
  /** Applied to the kind's pipelines with a daily (or cron) schedule only: a monthly run re-pulls no window. */
  reload: reloadSpec.optional(),
  notify: notifySpec.optional(),
});

/** configs/_defaults.yml: defaults stated once, by pipeline kind (a pipeline's own key replaces the default). */
export const defaultsConfig = z.strictObject({
  data: kindDefaults.optional(),
  system: kindDefaults.optional(),
  integration: kindDefaults.optional(),
});
export type DefaultsConfig = z.output<typeof defaultsConfig>;

/** The defaults file, relative to configs/. */
export const DEFAULTS_FILE = "_defaults.yml";

/** configs/notify_systems/<name>/config.yml */
export const notifierConfig = z.strictObject({
  ps_type: z.string().min(1),
  description: z.string().min(1),
  enabled: z.boolean().default(true),
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type NotifierConfig = z.output<typeof notifierConfig>;

/** The context a `{{ ... }}` template may reference besides `params.<name>`. */
export const TEMPLATE_CONTEXT = [
  "org.slug",
  "org.dataset",
  "run.id",
  "run.date",
  "run.trigger",
  "pipeline.id",
  "pipeline.path",
  "env.environment",
  "env.dataset_suffix",
] as const;
