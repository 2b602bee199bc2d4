/**
 * Defaults stated once: configs/_defaults.yml gives, per pipeline kind, the `params`, `reload` and `notify` a
 * pipeline gets when its file omits the key (every data pipeline's date window, late-data window and failure
 * notifications; `reload` only for a daily or cron schedule). A pipeline's own key
 * replaces the default whole (`notify: {}` for none). Problems in a default are reported in the defaults file.
 */
import { DEFAULTS_FILE, type DefaultsConfig, defaultsConfig, type PipelineConfig } from "./dsl.ts";
import type { Diagnostic, SourceMap } from "./diagnostics.ts";
import type { ParsedFile } from "./parse.ts";
import { zodDiagnostics } from "./zod_issues.ts";

export interface Defaults {
  readonly config: DefaultsConfig;
  readonly map?: SourceMap;
}

/** Reads configs/_defaults.yml (absent = no defaults). */
export function readDefaults(file: ParsedFile | undefined, diagnostics: Diagnostic[]): Defaults {
  if (!file) return { config: {} };
  const r = defaultsConfig.safeParse(file.value ?? {});
  if (!r.success) {
    diagnostics.push(...zodDiagnostics(r.error, file.map, file.value));
    return { config: {}, map: file.map };
  }
  return { config: r.data, map: file.map };
}

/** The pipeline config with its kind's defaults for the keys its file omits, and where each key's text is. */
export function applyDefaults(
  raw: unknown,
  cfg: PipelineConfig,
  kindKnown: boolean,
  defaults: Defaults,
  map: SourceMap,
): { cfg: PipelineConfig; paramsMap: SourceMap; notifyMap: SourceMap; reloadFromDefaults: boolean } {
  const given = (key: string) => raw !== null && typeof raw === "object" && key in raw;
  const forKind = kindKnown ? defaults.config[cfg.kind] : undefined;
  const from = (key: "params" | "notify") =>
    forKind?.[key] !== undefined && !given(key) && defaults.map ? defaults.map.under([cfg.kind]) : undefined;
  const paramsFrom = from("params");
  const notifyFrom = from("notify");
  // The reload window belongs to a daily (or cron) schedule: a monthly or unscheduled pipeline does not take it.
  const daily = cfg.schedule !== undefined && cfg.schedule !== "monthly";
  const reloadFrom = daily && forKind?.reload !== undefined && !given("reload");
  return {
    cfg: {
      ...cfg,
      ...(paramsFrom ? { params: forKind!.params! } : {}),
      ...(notifyFrom ? { notify: forKind!.notify! } : {}),
      ...(reloadFrom ? { reload: forKind!.reload! } : {}),
    },
    paramsMap: paramsFrom ?? map,
    notifyMap: notifyFrom ?? map,
    reloadFromDefaults: reloadFrom,
  };
}

export { DEFAULTS_FILE };
