/** Turns zod issues into diagnostics located in the YAML/JSON source. */
import type { z } from "zod";
import type { Diagnostic, DiagnosticCode, SourceMap, YamlPath } from "./diagnostics.ts";

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === "number" ? p : String(p)));
}

/**
 * Maps each zod issue to a diagnostic. `prefix` is where `value` sits in the document;
 * `code` overrides the issue-derived code (used for processor `with:` blocks).
 */
export function zodDiagnostics(
  error: z.ZodError,
  map: SourceMap,
  value: unknown,
  prefix: YamlPath = [],
  opts: { code?: DiagnosticCode; context?: string } = {},
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const suffix = opts.context ? ` ${opts.context}` : "";
  for (const issue of error.issues) {
    const rel = toPath(issue.path);
    const path = [...prefix, ...rel];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push(
          map.diagnostic([...path, key], `unknown key "${key}"${suffix}`, opts.code ?? "E_UNKNOWN_KEY", { key: true }),
        );
      }
    } else if (issue.code === "invalid_type" && valueAt(value, issue.path) === undefined && rel.length > 0) {
      const key = rel[rel.length - 1];
      out.push(map.diagnostic(path, `missing required key "${key}"${suffix}`, opts.code ?? "E_MISSING_KEY"));
    } else {
      out.push(map.diagnostic(path, `${issue.message}${suffix}`, opts.code ?? "E_INVALID_VALUE"));
    }
  }
  return out;
}
