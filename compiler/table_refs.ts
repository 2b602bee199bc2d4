/**
 * Checked table references: the `with:` keys a processor's spec lists in `tableRefs` name a table, and the compiler
 * resolves each against the outputs of the steps declared before it (or the central tables). A misspelt name is a
 * compile error at its line with a suggestion; a resolved one makes the step depend on the step that writes it, so
 * `depends_on` is only needed for an ordering that no table carries (store a credential after validating it).
 */
import { type PipelineConfig, tableOfSchema } from "./dsl.ts";
import type { Diagnostic, SourceMap } from "./diagnostics.ts";
import type { ConfigTree } from "./parse.ts";
import { suggest } from "./suggest.ts";
import type { ProcessorSpec } from "../src/processors/spec.ts";

type Step = PipelineConfig["steps"][number];

/**
 * The steps each step reads a table from (indices into `steps`), from its table references; reports every
 * reference that names no table it may read.
 */
export function inferDependencies(
  steps: readonly Step[],
  ctx: {
    readonly specs: ReadonlyMap<string, ProcessorSpec>;
    readonly central: ReadonlySet<string>;
    readonly map: SourceMap;
    readonly diagnostics: Diagnostic[];
    /** False when some step's output failed its shape: a name it may have written is then not reported. */
    readonly outputsKnown: boolean;
  },
): number[][] {
  const { specs, central, map, diagnostics } = ctx;
  const writer = new Map<string, number>();
  steps.forEach((s, i) => {
    if (s.output && !writer.has(s.output.table)) writer.set(s.output.table, i);
  });
  return steps.map((s, i) => {
    const refs = specs.get(s.ps_type)?.tableRefs ?? {};
    const deps: number[] = [];
    for (const [key, kind] of Object.entries(refs)) {
      const table = s.with?.[key];
      if (typeof table !== "string") continue;
      const at = (message: string) =>
        diagnostics.push(map.diagnostic(["steps", i, "with", key], message, "E_UNKNOWN_TABLE_REF"));
      if (kind === "central") {
        if (!central.has(table)) {
          at(`with.${key} names "${table}", which is not a central table${suggest(table, [...central].sort())}`);
        }
        continue;
      }
      const w = writer.get(table);
      if (w !== undefined && w < i) {
        if (!deps.includes(w)) deps.push(w);
        continue;
      }
      if (w !== undefined) {
        at(
          w === i
            ? `step "${s.id}" cannot read its own output "${table}" (with.${key})`
            : `with.${key} names "${table}", which step "${
              steps[w]!.id
            }" writes after step "${s.id}"; declare it first`,
        );
        continue;
      }
      if (!ctx.outputsKnown) continue;
      const earlier = steps.slice(0, i).flatMap((e) => e.output ? [e.output.table] : []);
      const hint = suggest(table, earlier);
      at(
        `with.${key} names "${table}", which no earlier step of this pipeline writes${
          hint || (earlier.length ? ` (earlier outputs: ${earlier.join(", ")})` : "")
        }`,
      );
    }
    return deps.sort((a, b) => a - b);
  });
}

/** Central tables: those the pipelines declare under a step's `tables:` in the central dataset, or seed. */
export function centralTables(tree: ConfigTree): Set<string> {
  const out = new Set<string>();
  const name = (t: Record<string, unknown>) =>
    typeof t.table === "string" ? t.table : typeof t.schema === "string" ? tableOfSchema(t.schema) : undefined;
  for (const f of tree.pipelines) {
    const steps = (f.value as { steps?: unknown } | null)?.steps;
    if (!Array.isArray(steps)) continue;
    for (const s of steps as Record<string, unknown>[]) {
      const tables = Array.isArray(s?.tables) ? s.tables as Record<string, unknown>[] : [];
      for (const t of tables) {
        const n = t && (t.dataset ?? "central") === "central" ? name(t) : undefined;
        if (n) out.add(n);
      }
      const seed = s?.seed as Record<string, unknown> | undefined;
      const n = seed && typeof seed === "object" ? name(seed) : undefined;
      if (n) out.add(n);
    }
  }
  return out;
}
