/** `{{ ... }}` templates: syntax and reference checks, shared by the validator and the runtime resolver. */
import { TEMPLATE_CONTEXT } from "./dsl.ts";

export interface TemplateProblem {
  readonly message: string;
  readonly code: "E_TEMPLATE_SYNTAX" | "E_UNKNOWN_TEMPLATE_REF";
}

const REF = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$/;

/** Every problem in the templates of one string, given the declared param names. */
export function templateProblems(text: string, params: ReadonlySet<string>): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  let rest = text;
  for (;;) {
    const open = rest.indexOf("{{");
    const close = rest.indexOf("}}");
    if (open < 0) {
      if (close >= 0) problems.push({ message: `unmatched "}}" in "${text}"`, code: "E_TEMPLATE_SYNTAX" });
      return problems;
    }
    const end = rest.indexOf("}}", open + 2);
    if (end < 0) {
      problems.push({ message: `unclosed "{{" in "${text}"`, code: "E_TEMPLATE_SYNTAX" });
      return problems;
    }
    const ref = rest.slice(open + 2, end).trim();
    if (!REF.test(ref)) {
      problems.push({
        message: `template "{{${rest.slice(open + 2, end)}}}" is not a dotted reference`,
        code: "E_TEMPLATE_SYNTAX",
      });
    } else if (ref.startsWith("params.")) {
      const name = ref.slice("params.".length);
      if (!params.has(name)) {
        problems.push({ message: `template references undeclared param "${name}"`, code: "E_UNKNOWN_TEMPLATE_REF" });
      }
    } else if (!(TEMPLATE_CONTEXT as readonly string[]).includes(ref)) {
      problems.push({
        message: `template references unknown context "${ref}" (known: params.*, ${TEMPLATE_CONTEXT.join(", ")})`,
        code: "E_UNKNOWN_TEMPLATE_REF",
      });
    }
    rest = rest.slice(end + 2);
  }
}

/** Every string inside a JSON-like value, with its path. */
export function stringsIn(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, [...path, k]));
  }
  return [];
}
