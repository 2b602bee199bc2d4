/** Param checks: defaults (typed, templated only from earlier params), patterns, enums and shorthands (`alias_of`). */
import type { PipelineConfig } from "./dsl.ts";
import type { Diagnostic, SourceMap } from "./diagnostics.ts";
import type { ParamIR } from "./ir.ts";
import { templateProblems } from "./templates.ts";

const DATE_LITERAL = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function checkParams(cfg: PipelineConfig, map: SourceMap, diagnostics: Diagnostic[]): ParamIR[] {
  const declared: string[] = [];
  const out: ParamIR[] = [];
  for (const [name, p] of Object.entries(cfg.params)) {
    const at = (message: string, key = "default") =>
      diagnostics.push(map.diagnostic(["params", name, key], message, "E_PARAM_DEFAULT"));
    const d = p.default;
    if (d !== undefined) {
      if (p.required === true) at(`param "${name}" is required, so it cannot have a default`);
      const template = typeof d === "string" && d.includes("{{");
      if (template) {
        for (const t of templateProblems(d, new Set(declared))) {
          diagnostics.push(
            map.diagnostic(
              ["params", name, "default"],
              `${t.message} (a default may only use params declared before it)`,
              t.code,
            ),
          );
        }
      } else if (
        p.type === "date" && !(d === "yesterday" || d === "today" || (typeof d === "string" && DATE_LITERAL.test(d)))
      ) {
        at(
          `default of date param "${name}" must be yesterday, today, YYYY-MM-DD or a template, not ${
            JSON.stringify(d)
          }`,
        );
      } else if ((p.type === "string" || p.type === "date") && typeof d !== "string") {
        at(`default of ${p.type} param "${name}" must be a string`);
      } else if (p.type === "integer" && !Number.isInteger(d)) {
        at(`default of integer param "${name}" must be an integer`);
      } else if (p.type === "number" && typeof d !== "number") at(`default of number param "${name}" must be a number`);
      else if (p.type === "boolean" && typeof d !== "boolean") {
        at(`default of boolean param "${name}" must be true or false`);
      } else if (p.enum && !p.enum.includes(String(d))) {
        at(`default "${d}" of param "${name}" is not one of ${p.enum.join(", ")}`);
      }
    }
    if (p.pattern !== undefined) {
      try {
        new RegExp(p.pattern);
      } catch {
        at(`pattern of param "${name}" is not a valid regular expression`, "pattern");
      }
    }
    if (p.enum && p.type !== "string") at(`only string params may have an enum`, "enum");
    if (!p.alias_of) declared.push(name);
    const { type, description, required, default: _d, secret, alias_of, alias_note, ...constraints } = p;
    out.push({
      name,
      type,
      required: alias_of ? false : required ?? d === undefined,
      ...(d !== undefined ? { default: d } : {}),
      ...(description !== undefined ? { description } : {}),
      secret: secret ?? false,
      ...(p.enum ? { enum: p.enum } : {}),
      ...(alias_of ? { aliasOf: alias_of } : {}),
      ...(alias_note !== undefined ? { aliasNote: alias_note } : {}),
      constraints,
    });
  }
  checkAliases(cfg, map, diagnostics);
  return out;
}

/** `alias_of`: every target a declared param of the same type that is not itself a shorthand. */
function checkAliases(cfg: PipelineConfig, map: SourceMap, diagnostics: Diagnostic[]): void {
  for (const [name, p] of Object.entries(cfg.params)) {
    const at = (message: string, key: string | number = "alias_of", ...rest: (string | number)[]) =>
      diagnostics.push(map.diagnostic(["params", name, key, ...rest], message, "E_PARAM_ALIAS"));
    if (!p.alias_of) {
      if (p.alias_note !== undefined) at(`param "${name}" has an alias_note but no alias_of`, "alias_note");
      continue;
    }
    if (p.default !== undefined) at(`shorthand param "${name}" cannot have a default`, "default");
    if (p.required === true) at(`shorthand param "${name}" cannot be required`, "required");
    p.alias_of.forEach((target, i) => {
      const t = cfg.params[target];
      if (target === name) at(`param "${name}" cannot be a shorthand for itself`, "alias_of", i);
      else if (!t) at(`alias_of names "${target}", which is not a param of this pipeline`, "alias_of", i);
      else if (t.alias_of) at(`alias_of names "${target}", which is itself a shorthand`, "alias_of", i);
      else if (t.type !== p.type) {
        at(`param "${name}" (${p.type}) cannot be a shorthand for "${target}" (${t.type})`, "alias_of", i);
      }
    });
  }
}
