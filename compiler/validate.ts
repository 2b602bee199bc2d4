/** Validate stage: every config against the DSL, the processor registry and the table schemas; builds the IR. */
import { type NotifierConfig, notifierConfig, NOTIFY_TRIGGERS, type PipelineConfig } from "./dsl.ts";
import { salvagePipeline } from "./salvage.ts";
import { checkParams } from "./validate_params.ts";
import { checkReload } from "./validate_reload.ts";
import { applyDefaults, type Defaults, readDefaults } from "./defaults.ts";
import type { Diagnostic, SourceMap, YamlPath } from "./diagnostics.ts";
import type { NotifierIR, PipelineIR, ProgramIR } from "./ir.ts";
import type { ConfigTree, ParsedFile } from "./parse.ts";
import { stringsIn, templateProblems } from "./templates.ts";
import { validateSchemaFiles, validateSeed } from "./validate_tables.ts";
import { zodDiagnostics } from "./zod_issues.ts";
import { checkSteps, type TableResolver } from "./validate_steps.ts";
import { centralTables } from "./table_refs.ts";
import type { NotifyDef, RouteDef } from "../src/pipeline/module.ts";
import type { TableSchema } from "../src/schema/table_schema.ts";
import type { ProcessorSpec } from "../src/processors/spec.ts";
import { suggest } from "./suggest.ts";

export interface ValidateResult {
  readonly program: ProgramIR;
  readonly diagnostics: Diagnostic[];
}

/** Validates a parsed config tree against the processor registry and returns the IR plus every problem. */
export function validate(
  tree: ConfigTree,
  specs: ReadonlyMap<string, ProcessorSpec>,
  prefix = "configs",
): ValidateResult {
  const diagnostics = [...tree.diagnostics];
  const schemas = validateSchemaFiles(tree.schemas, diagnostics);
  const tableOwners = new Map<string, string>();
  const resolver: TableResolver = {
    schema(rel, table, map, path) {
      const s = schemas.get(rel);
      if (!s) {
        const message = tree.schemas.has(rel)
          ? `schema file "${rel}" is not a valid table schema (see its own errors)`
          : `schema file "configs/${rel}" does not exist`;
        diagnostics.push(map.diagnostic(path, message, "E_SCHEMA_FILE_MISSING"));
        return undefined;
      }
      const owner = tableOwners.get(table);
      if (owner !== undefined && owner !== rel) {
        diagnostics.push(
          map.diagnostic(
            path,
            `table "${table}" is declared with "${owner}" elsewhere, not "${rel}"`,
            "E_TABLE_SCHEMA",
          ),
        );
      }
      tableOwners.set(table, rel);
      return { table, ...s };
    },
    seed(rel, schema, map, path) {
      const text = tree.data.get(rel);
      if (text === undefined) {
        diagnostics.push(map.diagnostic(path, `seed data file "configs/${rel}" does not exist`, "E_SEED_DATA"));
        return [];
      }
      return validateSeed(`${prefix}/${rel}`, text, schema, diagnostics);
    },
  };

  const central = centralTables(tree);
  const defaults = readDefaults(tree.defaults, diagnostics);
  const pipelines: PipelineIR[] = [];
  for (const f of tree.pipelines) {
    const ir = validatePipeline(f, { specs, tables: resolver, central, defaults }, diagnostics);
    if (ir) pipelines.push(ir);
  }
  checkUnique(pipelines, tree, diagnostics);
  const notifiers: NotifierIR[] = [];
  for (const f of tree.notifiers) {
    const ir = validateNotifier(f, specs, diagnostics);
    if (ir) notifiers.push(ir);
  }
  pipelines.sort((a, b) => a.path.localeCompare(b.path));
  notifiers.sort((a, b) => a.name.localeCompare(b.name));
  return { program: { pipelines, notifiers }, diagnostics };
}

/** `openai/usage_cost.yml` -> `openai/usage_cost`; `setup/bootstrap/pipeline.yml` -> `setup/bootstrap`. */
export function pipelinePath(rel: string): string {
  return rel.replace(/\.ya?ml$/, "").replace(/\/pipeline$/, "");
}

/** What validating one pipeline needs besides its file. */
interface PipelineContext {
  readonly specs: ReadonlyMap<string, ProcessorSpec>;
  readonly tables: TableResolver;
  readonly central: ReadonlySet<string>;
  readonly defaults: Defaults;
}

function validatePipeline(f: ParsedFile, ctx: PipelineContext, diagnostics: Diagnostic[]): PipelineIR | undefined {
  const { specs, tables, central } = ctx;
  const before = diagnostics.length;
  // A shape error leaves out only what failed, so the rest of the file is still checked and every error reported.
  const salvaged = salvagePipeline(f.value, f.map, diagnostics);
  if (!salvaged) return undefined;
  const { broken, brokenSteps, brokenParams } = salvaged;
  const { cfg, paramsMap, notifyMap, reloadFromDefaults } = applyDefaults(
    f.value,
    salvaged.cfg,
    !broken.has("kind"),
    ctx.defaults,
    f.map,
  );
  const path = pipelinePath(f.rel);
  const params = checkParams(cfg, paramsMap, diagnostics);
  const routeKeys = ["kind", "integration", "schedule", "route"];
  const route = routeKeys.some((k) => broken.has(k)) ? undefined : checkRoute(cfg, path, f.map, diagnostics);
  // A shorthand param is gone once a request is resolved: templates read the params it stands for.
  const paramNames = new Set([
    ...Object.entries(cfg.params).filter(([, p]) => !p.alias_of).map(([name]) => name),
    ...brokenParams,
  ]);
  const { steps, tables: used } = checkSteps(cfg, {
    map: f.map,
    specs,
    resolver: tables,
    params: paramNames,
    central,
    brokenSteps,
    diagnostics,
  });
  const notify = checkNotify(cfg, notifyMap, specs, paramNames, diagnostics);
  const reload = broken.has("schedule") ? undefined : checkReload(cfg, reloadFromDefaults, f.map, diagnostics);
  if (diagnostics.length > before || !route) return undefined;
  return {
    source: f.file,
    path,
    id: cfg.id,
    description: cfg.description,
    kind: cfg.kind,
    ...(cfg.integration ? { integration: cfg.integration } : {}),
    ...(cfg.schedule ? { schedule: cfg.schedule } : {}),
    route,
    timeoutMinutes: cfg.timeout_minutes,
    ...(cfg.retry ? { retry: { attempts: cfg.retry.attempts, backoffSeconds: cfg.retry.backoff_seconds } } : {}),
    params,
    ...(reload ? { reload } : {}),
    steps,
    notify,
    tables: used,
  };
}

function checkRoute(
  cfg: PipelineConfig,
  path: string,
  map: SourceMap,
  diagnostics: Diagnostic[],
): RouteDef | undefined {
  const err = (p: YamlPath, message: string, code: "E_ROUTE" | "E_INTEGRATION" = "E_ROUTE") => {
    diagnostics.push(map.diagnostic(p, message, code));
    return undefined;
  };
  if (cfg.kind !== "system" && !cfg.integration) {
    return err(["kind"], `a ${cfg.kind} pipeline must name its integration`, "E_INTEGRATION");
  }
  if (cfg.kind !== "data" && cfg.schedule) return err(["schedule"], `only data pipelines may have a schedule`);
  if (cfg.kind === "data") {
    if (cfg.route) return err(["route"], `a data pipeline's route is derived from its path; remove "route"`);
    return { method: "POST", path: `/pipelines/run/{org_slug}/${path}`, auth: "org", status: 202 };
  }
  if (!cfg.route) return err(["kind"], `a ${cfg.kind} pipeline must declare its route`);
  const hasOrg = cfg.route.path.includes("{org_slug}");
  const orgAuth = cfg.route.auth === "org" || cfg.route.auth === "root_or_org";
  if (hasOrg !== orgAuth) {
    return err(
      ["route", "path"],
      hasOrg ? `a route with {org_slug} needs org auth` : `an org-auth route must have {org_slug} in its path`,
    );
  }
  if (/\{(?!org_slug\})/.test(cfg.route.path)) {
    return err(["route", "path"], `routes may only use the {org_slug} placeholder`);
  }
  return cfg.route;
}

function checkNotify(
  cfg: PipelineConfig,
  map: SourceMap,
  specs: ReadonlyMap<string, ProcessorSpec>,
  params: ReadonlySet<string>,
  diagnostics: Diagnostic[],
): NotifyDef[] {
  const out: NotifyDef[] = [];
  for (const trigger of NOTIFY_TRIGGERS) {
    (cfg.notify?.[trigger] ?? []).forEach((entry, i) => {
      const base = ["notify", trigger, i];
      const spec = specs.get(entry.ps_type);
      if (!spec || !entry.ps_type.startsWith("notify_systems.")) {
        const hint = suggest(entry.ps_type, [...specs.keys()].filter((k) => k.startsWith("notify_systems.")));
        diagnostics.push(
          map.diagnostic(
            [...base, "ps_type"],
            `unknown notification processor "${entry.ps_type}"${hint}`,
            "E_UNKNOWN_PS_TYPE",
          ),
        );
        return;
      }
      const r = spec.config.safeParse(entry.with ?? {});
      if (!r.success) {
        diagnostics.push(
          ...zodDiagnostics(r.error, map, entry.with ?? {}, [...base, "with"], {
            code: "E_PROCESSOR_CONFIG",
            context: `for processor "${spec.type}"`,
          }),
        );
        return;
      }
      for (const s of stringsIn(entry.with ?? {})) {
        for (const t of templateProblems(s.text, params)) {
          diagnostics.push(map.diagnostic([...base, "with", ...s.path], t.message, t.code));
        }
      }
      out.push({ trigger, psType: spec.type, config: r.data as Record<string, unknown> });
    });
  }
  return out;
}

function validateNotifier(
  f: ParsedFile,
  specs: ReadonlyMap<string, ProcessorSpec>,
  diagnostics: Diagnostic[],
): NotifierIR | undefined {
  const parsed = notifierConfig.safeParse(f.value);
  if (!parsed.success) {
    diagnostics.push(...zodDiagnostics(parsed.error, f.map, f.value));
    return undefined;
  }
  const cfg: NotifierConfig = parsed.data;
  const name = f.rel.split("/")[1]!;
  const spec = specs.get(cfg.ps_type);
  if (!spec || !cfg.ps_type.startsWith("notify_systems.")) {
    diagnostics.push(
      f.map.diagnostic(["ps_type"], `unknown notification processor "${cfg.ps_type}"`, "E_UNKNOWN_PS_TYPE"),
    );
    return undefined;
  }
  const r = spec.config.safeParse(cfg.settings);
  if (!r.success) {
    diagnostics.push(
      ...zodDiagnostics(r.error, f.map, cfg.settings, ["settings"], {
        code: "E_PROCESSOR_CONFIG",
        context: `for processor "${spec.type}"`,
      }),
    );
    return undefined;
  }
  return {
    source: f.file,
    name,
    psType: spec.type,
    description: cfg.description,
    enabled: cfg.enabled,
    settings: r.data as Record<string, unknown>,
  };
}

function checkUnique(pipelines: PipelineIR[], tree: ConfigTree, diagnostics: Diagnostic[]): void {
  const files = new Map(tree.pipelines.map((f) => [f.file, f]));
  const ids = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const p of pipelines) {
    const map = files.get(p.source)!.map;
    const otherId = ids.get(p.id);
    if (otherId) {
      diagnostics.push(
        map.diagnostic(["id"], `pipeline id "${p.id}" is also used by ${otherId}`, "E_DUPLICATE_PIPELINE_ID"),
      );
    }
    ids.set(p.id, p.source);
    const key = `${p.route.method} ${p.route.path}`;
    const otherRoute = routes.get(key);
    if (otherRoute) {
      diagnostics.push(
        map.diagnostic(["route"], `route "${key}" is also declared by ${otherRoute}`, "E_DUPLICATE_ROUTE"),
      );
    }
    routes.set(key, p.source);
  }
}

export type { TableSchema };
