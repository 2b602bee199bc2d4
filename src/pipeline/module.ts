/**
 * The shape of a generated pipeline module (generated/pipelines/**). The compiler emits
 * objects that `satisfies` these types; the runtime executes them. Nothing here parses YAML.
 */
import type { z } from "zod";
import type { Row } from "../schema/row.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import type { ProviderSlug } from "../providers/catalogue.ts";

export type { TableSchema };

export type PipelineKind = "data" | "system" | "integration";
export type Auth = "root" | "org" | "root_or_org" | "none";
/** How an output is written: its days over the run's range replaced atomically (the only mode). */
export type WriteMode = "replace_partitions";
export type NotifyTrigger = "on_failure" | "on_success" | "on_completion" | "always";

export interface ParamDef {
  readonly name: string;
  readonly type: "date" | "string" | "integer" | "number" | "boolean";
  readonly required: boolean;
  /** Literal, `yesterday`/`today` (UTC) for dates, or a `{{ params.x }}` template. */
  readonly default?: string | number | boolean;
  readonly description?: string;
  readonly secret: boolean;
  readonly enum?: readonly string[];
  /** Shorthand for these params: a request's value for this one is given to each (DSL `alias_of`). */
  readonly aliasOf?: readonly string[];
  /** Why shorthands of one param must agree (DSL `alias_note`). */
  readonly aliasNote?: string;
}

export interface OutputDef {
  readonly table: string;
  readonly dataset: "org" | "central";
  readonly write: WriteMode;
  readonly partitionField?: string;
}

export interface CheckDef {
  readonly name: string;
  readonly check: "not_null" | "unique" | "non_negative" | "min_rows";
  readonly columns?: readonly string[];
  /** not_null / non_negative: columns whose distinct values among the failing rows the outcome names. */
  readonly reportBy?: readonly string[];
  readonly value?: number;
  readonly severity: "warn" | "error";
}

export interface StepDef {
  readonly id: string;
  readonly psType: string;
  readonly description?: string;
  readonly dependsOn: readonly string[];
  readonly config: Readonly<Record<string, unknown>>;
  readonly output?: OutputDef;
  readonly tables: readonly { readonly table: string; readonly dataset: "org" | "central" }[];
  readonly seed?: { readonly table: string; readonly rows: readonly Row[] };
  readonly checks: readonly CheckDef[];
}

export interface NotifyDef {
  readonly trigger: NotifyTrigger;
  readonly psType: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface RouteDef {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path under /api/v1, with `{org_slug}` where the route belongs to an org. */
  readonly path: string;
  readonly auth: Auth;
  readonly status: number;
}

/**
 * The late-data window of a scheduled daily run (DSL `reload`): the run for logical day D covers the
 * `trailingDays` days ending at D and, on days 1..`previousMonthUntilDay` of a month, the whole previous month
 * as well (0: never). Absent: the run covers D only. Backfills and API runs keep their own ranges.
 */
export interface ReloadDef {
  readonly trailingDays: number;
  readonly previousMonthUntilDay: number;
}

export interface PipelineModule {
  /** The config this module was generated from, e.g. `configs/openai/usage_cost.yml`. */
  readonly source: string;
  /** The pipeline path: the config path under configs/ without `.yml` (and without `/pipeline`). */
  readonly path: string;
  readonly id: string;
  readonly description: string;
  readonly kind: PipelineKind;
  readonly integration?: ProviderSlug;
  readonly schedule?: string;
  readonly route: RouteDef;
  readonly timeoutMinutes: number;
  readonly retry?: { readonly attempts: number; readonly backoffSeconds: number };
  readonly params: readonly ParamDef[];
  readonly paramsSchema: z.ZodType;
  /** The days a scheduled run re-pulls besides its logical day (see {@link ReloadDef}). */
  readonly reload?: ReloadDef;
  /** Steps in dependency order. */
  readonly steps: readonly StepDef[];
  readonly notify: readonly NotifyDef[];
  readonly tables: Readonly<Record<string, TableSchema>>;
}

export interface NotifierModule {
  readonly source: string;
  readonly name: string;
  readonly psType: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** One entry of the generated route manifest. */
export interface ManifestRoute {
  readonly method: RouteDef["method"];
  /** Full path, e.g. `/api/v1/pipelines/run/{org_slug}/openai/usage_cost`. */
  readonly path: string;
  readonly auth: Auth;
  readonly status: number;
  readonly pipeline: string;
  readonly kind: PipelineKind;
}
