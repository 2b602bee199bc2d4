/** Resolves `{{ ref }}` templates and param defaults at run time (the compiler already checked every ref). */
import type { ParamDef } from "./module.ts";
import { addDays, dayOf, isoDay } from "../time/day.ts";

const TEMPLATE = /\{\{\s*([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\s*\}\}/g;

/** Replaces every template in the strings inside `value`; an unknown ref is an error, never an empty string. */
export function renderTemplates<T>(value: T, vars: Readonly<Record<string, unknown>>): T {
  if (typeof value === "string") {
    return value.replace(TEMPLATE, (_m, ref: string) => {
      if (!(ref in vars) || vars[ref] === undefined) {
        throw new Error(`Template "{{ ${ref} }}" has no value in this run`);
      }
      return String(vars[ref]);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => renderTemplates(v, vars)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderTemplates(v, vars)])) as T;
  }
  return value;
}

/** Fills defaults in declaration order: `yesterday`/`today` are UTC days; templates see earlier params. */
export function applyParamDefaults(
  defs: readonly ParamDef[],
  given: Readonly<Record<string, unknown>>,
  now: Date,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of defs) {
    let v = given[d.name];
    if (v === undefined && d.default !== undefined) {
      if (d.type === "date" && d.default === "yesterday") v = isoDay(addDays(dayOf(now), -1));
      else if (d.type === "date" && d.default === "today") v = isoDay(dayOf(now));
      else if (typeof d.default === "string" && d.default.includes("{{")) {
        v = renderTemplates(d.default, Object.fromEntries(Object.entries(out).map(([k, x]) => [`params.${k}`, x])));
      } else v = d.default;
    }
    if (v !== undefined) out[d.name] = v;
  }
  return out;
}
