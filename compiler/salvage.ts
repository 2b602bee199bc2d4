/**
 * Shape check of a pipeline file that keeps going: each top-level key, each param and each step key is checked on
 * its own, so a shape error in one place does not hide the file's semantic errors elsewhere. What fails its shape
 * is left out and named in `broken`, so the semantic checks skip only what depends on it (no follow-on errors).
 */
import type { z } from "zod";
import { paramSpec, type PipelineConfig, pipelineConfig, stepSpec } from "./dsl.ts";
import type { Diagnostic, SourceMap, YamlPath } from "./diagnostics.ts";
import { zodDiagnostics } from "./zod_issues.ts";

/** A pipeline config with what failed its shape left out. */
export interface SalvagedPipeline {
  readonly cfg: PipelineConfig;
  /** Top-level keys that failed their shape (`kind`, `notify`, ...). */
  readonly broken: ReadonlySet<string>;
  /** Per step (same index as `cfg.steps`), the step keys that failed their shape. */
  readonly brokenSteps: readonly ReadonlySet<string>[];
  /** Params whose spec failed its shape: still declared names, so templates reading them are not errors too. */
  readonly brokenParams: ReadonlySet<string>;
}

type Shape = Record<string, z.ZodType>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Checks `value` against a strict object's keys one by one; returns the keys that passed and those that failed. */
function byKey(
  shape: Shape,
  value: Record<string, unknown>,
  map: SourceMap,
  prefix: YamlPath,
  diagnostics: Diagnostic[],
  skip: readonly string[] = [],
): { data: Record<string, unknown>; broken: Set<string> } {
  const data: Record<string, unknown> = {};
  const broken = new Set<string>();
  for (const key of Object.keys(value)) {
    if (!(key in shape)) {
      diagnostics.push(map.diagnostic([...prefix, key], `unknown key "${key}"`, "E_UNKNOWN_KEY", { key: true }));
    }
  }
  for (const [key, schema] of Object.entries(shape)) {
    if (skip.includes(key)) continue;
    const r = schema.safeParse(value[key]);
    if (r.success) {
      if (r.data !== undefined) data[key] = r.data;
      continue;
    }
    broken.add(key);
    if (value[key] === undefined) {
      diagnostics.push(map.diagnostic([...prefix, key], `missing required key "${key}"`, "E_MISSING_KEY"));
    } else diagnostics.push(...zodDiagnostics(r.error, map, value[key], [...prefix, key]));
  }
  return { data, broken };
}

/** The shape check of one pipeline file; undefined when the file is not a mapping at all. */
export function salvagePipeline(
  value: unknown,
  map: SourceMap,
  diagnostics: Diagnostic[],
): SalvagedPipeline | undefined {
  if (!isRecord(value)) {
    const r = pipelineConfig.safeParse(value);
    if (!r.success) diagnostics.push(...zodDiagnostics(r.error, map, value));
    return undefined;
  }
  const shape = pipelineConfig.shape as unknown as Shape;
  const top = byKey(shape, value, map, [], diagnostics, ["params", "steps"]);

  const params: Record<string, unknown> = {};
  const brokenParams = new Set<string>();
  if (value.params !== undefined && !isRecord(value.params)) {
    top.broken.add("params");
    const r = shape.params!.safeParse(value.params);
    if (!r.success) diagnostics.push(...zodDiagnostics(r.error, map, value.params, ["params"]));
  }
  for (const [name, spec] of Object.entries(isRecord(value.params) ? value.params : {})) {
    const r = paramSpec.safeParse(spec);
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      diagnostics.push(
        map.diagnostic(["params", name], `param name "${name}" must be snake_case`, "E_INVALID_VALUE", { key: true }),
      );
      brokenParams.add(name);
    } else if (r.success) params[name] = r.data;
    else {
      diagnostics.push(...zodDiagnostics(r.error, map, spec, ["params", name]));
      brokenParams.add(name);
    }
  }

  const steps: unknown[] = [];
  const brokenSteps: Set<string>[] = [];
  if (!Array.isArray(value.steps) || value.steps.length === 0) {
    top.broken.add("steps");
    const r = shape.steps!.safeParse(value.steps);
    if (!r.success) {
      diagnostics.push(
        ...(value.steps === undefined
          ? [map.diagnostic(["steps"], `missing required key "steps"`, "E_MISSING_KEY")]
          : zodDiagnostics(r.error, map, value.steps, ["steps"])),
      );
    }
  } else {
    value.steps.forEach((raw, i) => {
      if (!isRecord(raw)) {
        const r = stepSpec.safeParse(raw);
        if (!r.success) diagnostics.push(...zodDiagnostics(r.error, map, raw, ["steps", i]));
        // Kept as a placeholder so that every later step keeps its index (diagnostics name steps[i]).
        steps.push({ id: `steps[${i}]`, ps_type: "" });
        brokenSteps.push(new Set(Object.keys(stepSpec.shape)));
        return;
      }
      const s = byKey(stepSpec.shape as unknown as Shape, raw, map, ["steps", i], diagnostics);
      // A step whose id is malformed keeps the text (other steps may name it) or a placeholder no step can name.
      if (s.broken.has("id")) s.data.id = typeof raw.id === "string" ? raw.id : `steps[${i}]`;
      if (s.broken.has("ps_type")) s.data.ps_type = "";
      steps.push(s.data);
      brokenSteps.push(s.broken);
    });
  }
  const cfg = { ...top.data, params, steps } as unknown as PipelineConfig;
  return { cfg, broken: top.broken, brokenSteps, brokenParams };
}
