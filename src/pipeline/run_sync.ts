/**
 * Runs a system or integration pipeline inside the request: params validated and defaulted, steps in
 * order, each step's response merged into the answer. Data pipelines go through the run executor instead.
 */
import type { z } from "zod";
import type { PipelineModule } from "./module.ts";
import { applyParamDefaults, renderTemplates } from "./template.ts";
import type { ProcessorContext, ProcessorEnv, ProcessorLogger } from "../processors/context.ts";
import { ProcessorError } from "../processors/context.ts";
import type { ProcessorRegistry } from "../processors/registry.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";
import type { ApiKeyStore } from "../orgs/api_keys.ts";

export interface PipelineDeps {
  readonly warehouse: Warehouse;
  readonly vault: KeyVault;
  readonly keys: ApiKeyStore;
  readonly env: ProcessorEnv;
  readonly processors: ProcessorRegistry;
  readonly now: () => Date;
}

/** Invalid params: carries zod's issues so the API can name the field. */
export class ParamsError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super(describeIssues(issues));
    this.name = "ParamsError";
  }
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

/** Validates `raw` against the pipeline's params schema and fills defaults. */
export function resolveParams(pipeline: PipelineModule, raw: unknown, now: Date): Record<string, unknown> {
  const parsed = pipeline.paramsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ParamsError(parsed.error.issues);
  return applyParamDefaults(pipeline.params, parsed.data as Record<string, unknown>, now);
}

export function templateVars(
  pipeline: PipelineModule,
  params: Readonly<Record<string, unknown>>,
  env: ProcessorEnv,
  org?: { slug: string; dataset: string },
  run?: { id: string; trigger: string; date?: string },
): Record<string, unknown> {
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
  const vars = templateVars(pipeline, params, deps.env, opts.org);
  const state = new Map<string, unknown>();
  const response: Record<string, unknown> = {};
  try {
    for (const step of pipeline.steps) {
      const processor = deps.processors.get(step.psType);
      if (!processor) {
        throw new ProcessorError(
          501,
          "NOT_IMPLEMENTED",
          `Processor "${step.psType}" of pipeline "${pipeline.path}" is not available in this build`,
        );
      }
      const ctx: ProcessorContext = {
        warehouse: deps.warehouse,
        vault: deps.vault,
        keys: deps.keys,
        env: deps.env,
        logger: opts.logger,
        now: deps.now,
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
