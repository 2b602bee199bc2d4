/**
 * Runs a system or integration pipeline inside the request: params validated and defaulted, steps in
 * order, each step's response merged into the answer. Data pipelines go through the run executor instead.
 */
import type { z } from "zod";
import type { ParamDef, PipelineModule } from "./module.ts";
import { applyParamDefaults, renderTemplates } from "./template.ts";
import type { ProcessorContext, ProcessorEnv, ProcessorLogger } from "../processors/context.ts";
import type { ProcessorRegistry } from "../processors/registry.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";
import type { CentralStores } from "../central/mod.ts";
import { dayOf, parseDay, parseDayRange } from "../time/day.ts";
import { AppError } from "../errors/mod.ts";

export interface PipelineDeps {
  readonly warehouse: Warehouse;
  readonly vault: KeyVault;
  readonly stores: CentralStores;
  readonly env: ProcessorEnv;
  readonly processors: ProcessorRegistry;
  readonly now: () => Date;
}

/** The part of a processor's context that comes from the deps, with the logger the processor logs to. */
export function contextBase(
  deps: PipelineDeps,
  logger: ProcessorLogger,
): Pick<ProcessorContext, "warehouse" | "vault" | "stores" | "env" | "logger" | "now"> {
  const { warehouse, vault, stores, env, now } = deps;
  return { warehouse, vault, stores, env, logger, now };
}

/**
 * Invalid params: a `VALIDATION_ERROR` whose message names the fields (zod's first issues), `field` the first one
 * (none for a rule across params, whose message names both).
 */
export function paramsError(issues: readonly z.core.$ZodIssue[], message = describeIssues(issues)): AppError {
  const field = issues[0]?.path.join(".");
  return new AppError("VALIDATION_ERROR", message, field ? { field } : {});
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 5).map((i) => {
    const field = i.path.join(".");
    if (i.code === "unrecognized_keys") {
      return `Unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    return field ? `Field "${field}": ${i.message}` : i.message;
  }).join("; ");
}

/**
 * Validates `raw` against the pipeline's params schema, gives each shorthand's value to the params it stands for
 * (DSL `alias_of`), fills defaults and checks every `date` param: a real day, 2015-01-01 to today (UTC), and
 * `start_date..end_date` in order and at most 366 days.
 * @throws {AppError} VALIDATION_ERROR for the schema and shorthands; DayError naming the field for a date
 */
export function resolveParams(pipeline: PipelineModule, raw: unknown, now: Date): Record<string, unknown> {
  const parsed = pipeline.paramsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw paramsError(parsed.error.issues);
  const given = parsed.data as Record<string, unknown>;
  const today = dayOf(now);
  checkDates(pipeline.params, given, today);
  const params = applyParamDefaults(pipeline.params, expandAliases(pipeline.params, given), now);
  checkDates(pipeline.params, params, today);
  const start = pipeline.params.find((p) => p.name === "start_date" && p.type === "date" && !p.aliasOf);
  const end = pipeline.params.find((p) => p.name === "end_date" && p.type === "date" && !p.aliasOf);
  if (start && end && params.start_date !== undefined && params.end_date !== undefined) {
    parseDayRange(params.start_date, params.end_date, { start: "start_date", end: "end_date" }, { today });
  }
  return params;
}

/** Every `date` param present in `values` parsed and bounded (2015-01-01 .. today). @throws DayError */
function checkDates(
  defs: readonly ParamDef[],
  values: Readonly<Record<string, unknown>>,
  today: ReturnType<typeof dayOf>,
) {
  for (const d of defs) {
    if (d.type === "date" && values[d.name] !== undefined) parseDay(values[d.name], d.name, { today });
  }
}

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(" and ");

/**
 * Gives each shorthand param's value to the params it stands for and drops the shorthand. Giving a shorthand and
 * one of its params is an error, and so is giving two shorthands of one param different values.
 * @throws {AppError} VALIDATION_ERROR naming the fields
 */
export function expandAliases(
  defs: readonly ParamDef[],
  given: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...given };
  const setBy = new Map<string, string>();
  for (const d of defs) {
    const value = given[d.name];
    if (!d.aliasOf || value === undefined) continue;
    delete out[d.name];
    for (const target of d.aliasOf) {
      if (given[target] !== undefined) {
        throw paramsError(
          [],
          `Fields "${d.name}" and "${target}" cannot both be given: "${d.name}" stands for ${quoted(d.aliasOf)}`,
        );
      }
      const other = setBy.get(target);
      if (other !== undefined && out[target] !== value) {
        throw paramsError(
          [],
          `Fields "${other}" (${JSON.stringify(out[target])}) and "${d.name}" (${JSON.stringify(value)}) must be ` +
            `equal: both stand for "${target}"${d.aliasNote ? `, and ${d.aliasNote}` : ""}`,
        );
      }
      out[target] = value;
      setBy.set(target, d.name);
    }
  }
  return out;
}

/** The values of `{{ ... }}` templates: params, the org and the run (when there is one), pipeline and env. */
export function templateVars(
  pipeline: PipelineModule,
  params: Readonly<Record<string, unknown>>,
  env: ProcessorEnv,
  at: { org?: { slug: string; dataset: string }; run?: { id: string; trigger: string; date?: string } } = {},
): Record<string, unknown> {
  const { org, run } = at;
  return {
    // An optional param the caller left out renders as "" (the processor applies its own default).
    ...Object.fromEntries(pipeline.params.map((p) => [`params.${p.name}`, params[p.name] ?? ""])),
    "org.slug": org?.slug,
    "org.dataset": org?.dataset,
    "run.id": run?.id,
    "run.date": run?.date,
    "run.trigger": run?.trigger,
    "pipeline.id": pipeline.id,
    "pipeline.path": pipeline.path,
    "env.environment": env.environment,
    "env.dataset_suffix": env.datasetSuffix,
  };
}

/** Runs every step in order and returns the merged step responses. */
export async function runSync(
  deps: PipelineDeps,
  pipeline: PipelineModule,
  raw: unknown,
  opts: {
    org?: { slug: string; dataset: string };
    logger: ProcessorLogger;
    commitHook?: ProcessorContext["commitHook"];
  },
): Promise<Record<string, unknown>> {
  const params = resolveParams(pipeline, raw, deps.now());
  const vars = templateVars(pipeline, params, deps.env, { org: opts.org });
  const state = new Map<string, unknown>();
  const response: Record<string, unknown> = {};
  try {
    for (const step of pipeline.steps) {
      const processor = deps.processors.get(step.psType);
      if (!processor) {
        throw new AppError(
          "NOT_IMPLEMENTED",
          `Processor "${step.psType}" of pipeline "${pipeline.path}" is not available in this build`,
        );
      }
      const ctx: ProcessorContext = {
        ...contextBase(deps, opts.logger),
        pipeline,
        step,
        ...(opts.org ? { org: opts.org } : {}),
        ...(opts.commitHook ? { commitHook: opts.commitHook } : {}),
        params,
        state,
      };
      const result = await processor.run(ctx, renderTemplates(step.config, vars));
      Object.assign(response, result.response ?? {});
    }
  } finally {
    state.clear();
  }
  return response;
}
