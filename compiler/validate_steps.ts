/** Step checks: ps_type, `with:`, dependencies, outputs, tables, seeds, data-quality checks, templates. */
import type { PipelineConfig } from "./dsl.ts";
import type { Diagnostic, SourceMap, YamlPath } from "./diagnostics.ts";
import { stringsIn, templateProblems } from "./templates.ts";
import { zodDiagnostics } from "./zod_issues.ts";
import { suggest } from "./suggest.ts";
import { inferDependencies } from "./table_refs.ts";
import type { CheckDef, OutputDef, StepDef } from "../src/pipeline/module.ts";
import type { ProcessorSpec } from "../src/processors/spec.ts";
import type { Row } from "../src/schema/row.ts";
import type { TableSchema } from "../src/schema/table_schema.ts";

/** Resolves schema and seed file references, reporting missing or invalid files at the referencing node. */
export interface TableResolver {
  schema(rel: string, table: string, map: SourceMap, path: YamlPath): TableSchema | undefined;
  seed(rel: string, schema: TableSchema, map: SourceMap, path: YamlPath): Row[];
}

type Step = PipelineConfig["steps"][number];

/** What the step checks need besides the pipeline config. */
export interface StepContext {
  readonly map: SourceMap;
  readonly specs: ReadonlyMap<string, ProcessorSpec>;
  readonly resolver: TableResolver;
  /** Param names templates may read. */
  readonly params: ReadonlySet<string>;
  /** Central table names (what a `central` table reference may name). */
  readonly central: ReadonlySet<string>;
  /** Per step, the keys that failed their shape (already reported): the checks that need them are skipped. */
  readonly brokenSteps: readonly ReadonlySet<string>[];
  readonly diagnostics: Diagnostic[];
}

export function checkSteps(
  cfg: PipelineConfig,
  ctx: StepContext,
): { steps: StepDef[]; tables: Record<string, TableSchema> } {
  const { map, specs, resolver, central, diagnostics } = ctx;
  const broken = (i: number, key: string) => ctx.brokenSteps[i]?.has(key) ?? false;
  const err = (path: YamlPath, message: string, code: Diagnostic["code"]) =>
    diagnostics.push(map.diagnostic(path, message, code));
  const tables: Record<string, TableSchema> = {};
  const index = new Map<string, number>();
  cfg.steps.forEach((s, i) => {
    if (index.has(s.id)) {
      err(
        ["steps", i, "id"],
        `duplicate step id "${s.id}" (first used by steps[${index.get(s.id)}])`,
        "E_DUPLICATE_STEP_ID",
      );
    } else index.set(s.id, i);
  });
  cfg.steps.forEach((s, i) => {
    (s.depends_on ?? []).forEach((dep, j) => {
      if (!index.has(dep)) {
        err(
          ["steps", i, "depends_on", j],
          `step "${s.id}" depends on unknown step "${dep}"${suggest(dep, [...index.keys()])}`,
          "E_UNKNOWN_DEPENDENCY",
        );
      }
    });
  });
  // What a step waits for: its explicit depends_on plus the steps whose output tables it reads.
  const outputsKnown = cfg.steps.every((_, i) => !broken(i, "output"));
  const inferred = inferDependencies(cfg.steps, { specs, central, map, diagnostics, outputsKnown });
  const deps = cfg.steps.map((s, i) => {
    const explicit = (s.depends_on ?? []).map((d) => index.get(d)).filter((d): d is number => d !== undefined);
    return [...new Set([...explicit, ...inferred[i]!])].sort((a, b) => a - b);
  });
  const order = topologicalOrder(
    cfg.steps,
    index,
    deps,
    (i, cycle) => err(["steps", i, "depends_on"], `dependency cycle: ${cycle.join(" -> ")}`, "E_DEPENDENCY_CYCLE"),
  );

  const steps: StepDef[] = [];
  for (const i of order) {
    const s = cfg.steps[i]!;
    const base = ["steps", i] as const;
    const spec = broken(i, "ps_type") ? undefined : specs.get(s.ps_type);
    if (!spec && !broken(i, "ps_type")) {
      err(
        [...base, "ps_type"],
        `unknown processor "${s.ps_type}"${suggest(s.ps_type, [...specs.keys()])}`,
        "E_UNKNOWN_PS_TYPE",
      );
    }
    const config = spec && !broken(i, "with") ? checkConfig(s, spec, ctx, base) : undefined;
    if (spec?.requiresOutput && !s.output && !broken(i, "output")) {
      err(
        [...base, "ps_type"],
        `processor "${spec!.type}" writes a table, so step "${s.id}" needs an "output"`,
        "E_OUTPUT_REQUIRED",
      );
    }
    const output = s.output ? checkOutput(s, [...base, "output"], map, resolver, tables, err) : undefined;
    const checks = broken(i, "output")
      ? []
      : checkChecks(s, [...base, "checks"], output ? tables[output.table] : undefined, err);
    const stepTables = (s.tables ?? []).map((t, j) => {
      const schema = resolver.schema(t.schema, t.table, map, [...base, "tables", j, "schema"]);
      if (schema) tables[t.table] = schema;
      return { table: t.table, dataset: t.dataset };
    });
    let seed: StepDef["seed"];
    if (s.seed) {
      const schema = resolver.schema(s.seed.schema, s.seed.table, map, [...base, "seed", "schema"]);
      if (schema) {
        tables[s.seed.table] = schema;
        seed = { table: s.seed.table, rows: resolver.seed(s.seed.data, schema, map, [...base, "seed", "data"]) };
      }
    }
    if (!spec || !config) continue;
    steps.push({
      id: s.id,
      psType: spec.type,
      ...(s.description !== undefined ? { description: s.description } : {}),
      dependsOn: deps[i]!.map((d) => cfg.steps[d]!.id),
      config,
      ...(output ? { output } : {}),
      tables: stepTables,
      ...(seed ? { seed } : {}),
      checks,
    });
  }
  const sorted = Object.fromEntries(Object.entries(tables).sort(([a], [b]) => a.localeCompare(b)));
  return { steps, tables: sorted };
}

/** The step's `with:` parsed by its processor's schema (defaults filled in), its templates checked. */
function checkConfig(
  s: Step,
  spec: ProcessorSpec,
  ctx: StepContext,
  base: YamlPath,
): Record<string, unknown> | undefined {
  const parsed = spec.config.safeParse(s.with ?? {});
  if (!parsed.success) {
    ctx.diagnostics.push(
      ...zodDiagnostics(parsed.error, ctx.map, s.with ?? {}, [...base, "with"], {
        code: "E_PROCESSOR_CONFIG",
        context: `for processor "${spec.type}"`,
      }),
    );
    return undefined;
  }
  const config = parsed.data as Record<string, unknown>;
  for (const str of stringsIn(config)) {
    const explicit = hasPath(s.with, str.path);
    for (const t of templateProblems(str.text, ctx.params)) {
      const where = explicit ? [...base, "with", ...str.path] : [...base, "ps_type"];
      const message = explicit ? t.message : `${t.message} (default of with.${str.path.join(".")})`;
      ctx.diagnostics.push(ctx.map.diagnostic(where, message, t.code));
    }
  }
  return config;
}

function checkOutput(
  s: Step,
  base: YamlPath,
  map: SourceMap,
  resolver: TableResolver,
  tables: Record<string, TableSchema>,
  err: (path: YamlPath, message: string, code: Diagnostic["code"]) => void,
): OutputDef | undefined {
  const o = s.output!;
  const schema = resolver.schema(o.schema, o.table, map, [...base, "schema"]);
  if (!schema) return undefined;
  tables[o.table] = schema;
  const field = o.partition_field ?? schema.partitioning?.field;
  if (o.write === "replace_partitions") {
    if (!field) {
      err(
        [...base, "write"],
        `write replace_partitions needs a partition_field or a partitioned schema`,
        "E_PARTITION_FIELD",
      );
      return undefined;
    }
    const col = schema.fields.find((f) => f.name === field);
    if (!col) {
      err(
        [...base, "partition_field"],
        `partition field "${field}" is not a column of "${o.table}"`,
        "E_PARTITION_FIELD",
      );
      return undefined;
    }
    if (col.type !== "DATE" && col.type !== "TIMESTAMP") {
      err(
        [...base, "partition_field"],
        `partition field "${field}" must be DATE or TIMESTAMP, not ${col.type}`,
        "E_PARTITION_FIELD",
      );
      return undefined;
    }
    if (schema.partitioning && schema.partitioning.field !== field) {
      err(
        [...base, "partition_field"],
        `partition field "${field}" differs from the schema's partitioning "${schema.partitioning.field}"`,
        "E_PARTITION_FIELD",
      );
      return undefined;
    }
  }
  return {
    table: o.table,
    dataset: o.dataset,
    write: o.write,
    ...(field ? { partitionField: field } : {}),
  };
}

function checkChecks(
  s: Step,
  base: YamlPath,
  schema: TableSchema | undefined,
  err: (path: YamlPath, message: string, code: Diagnostic["code"]) => void,
): CheckDef[] {
  const out: CheckDef[] = [];
  const named = new Map<string, number>();
  (s.checks ?? []).forEach((c, i) => {
    // Run results are recorded per check name: two checks of one step must not share one.
    const first = named.get(c.name);
    if (first !== undefined) {
      err(
        [...base, i, "name"],
        `duplicate check name "${c.name}" (first used by checks[${first}])`,
        "E_DUPLICATE_CHECK",
      );
    } else named.set(c.name, i);
    if (!s.output) {
      return err([...base, i], `check "${c.name}" needs the step to have an output table`, "E_CHECK_COLUMN");
    }
    if (!schema) return;
    if (c.check === "min_rows" ? c.value === undefined : !c.columns) {
      return err(
        [...base, i],
        c.check === "min_rows" ? `check min_rows needs a value` : `check ${c.check} needs columns`,
        "E_CHECK_COLUMN",
      );
    }
    if (c.report_by && c.check !== "not_null" && c.check !== "non_negative") {
      err(
        [...base, i, "report_by"],
        `report_by applies to not_null and non_negative checks, not ${c.check}`,
        "E_CHECK_COLUMN",
      );
    }
    for (const key of ["columns", "report_by"] as const) {
      (c[key] ?? []).forEach((name, j) => {
        if (!schema.fields.some((f) => f.name === name)) {
          err([...base, i, key, j], `column "${name}" is not in table "${schema.table}"`, "E_CHECK_COLUMN");
        }
      });
    }
    out.push({
      name: c.name,
      check: c.check,
      ...(c.columns ? { columns: c.columns } : {}),
      ...(c.report_by ? { reportBy: c.report_by } : {}),
      ...(c.value !== undefined ? { value: c.value } : {}),
      severity: c.severity,
    });
  });
  return out;
}

/** Kahn's algorithm, stable by declaration order; reports each cycle once at its first step. */
function topologicalOrder(
  steps: readonly Step[],
  index: ReadonlyMap<string, number>,
  deps: readonly (readonly number[])[],
  onCycle: (i: number, cycle: string[]) => void,
): number[] {
  const done = new Set<number>();
  const order: number[] = [];
  let progress = true;
  while (progress) {
    progress = false;
    for (let i = 0; i < steps.length; i++) {
      if (!done.has(i) && index.get(steps[i]!.id) === i && deps[i]!.every((d) => done.has(d))) {
        done.add(i);
        order.push(i);
        progress = true;
        break;
      }
    }
  }
  const stuck = steps.map((_, i) => i).filter((i) => !done.has(i) && index.get(steps[i]!.id) === i);
  const reported = new Set<number>();
  for (const start of stuck) {
    if (reported.has(start)) continue;
    const path: number[] = [];
    let cur = start;
    while (!path.includes(cur)) {
      path.push(cur);
      cur = deps[cur]!.find((d) => !done.has(d)) ?? cur;
    }
    const cycle = path.slice(path.indexOf(cur));
    cycle.forEach((c) => reported.add(c));
    const first = Math.min(...cycle);
    const rotated = [...cycle.slice(cycle.indexOf(first)), ...cycle.slice(0, cycle.indexOf(first)), first];
    onCycle(first, rotated.map((c) => steps[c]!.id));
  }
  return order;
}

function hasPath(value: unknown, path: readonly (string | number)[]): boolean {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !(seg in (v as object))) return false;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return true;
}
