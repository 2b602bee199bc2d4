/**
 * Emits generated/tables.ts: every table schema the pipelines name, once, by table name, with the central and org
 * subsets. Pipeline modules import their tables from it, and start-up code injects them into the stores.
 */
import type { PipelineIR } from "./ir.ts";
import { literal } from "./literal.ts";
import type { TableSchema } from "../src/schema/table_schema.ts";

/** The dataset each table lives in: central when a step declares it central (or seeds it), org otherwise. */
export function tableDatasets(pipelines: readonly PipelineIR[]): Map<string, "org" | "central"> {
  const out = new Map<string, "org" | "central">();
  const put = (table: string, dataset: "org" | "central") => {
    if (out.get(table) !== "central") out.set(table, dataset);
  };
  for (const p of pipelines) {
    for (const s of p.steps) {
      if (s.output) put(s.output.table, s.output.dataset);
      for (const t of s.tables) put(t.table, t.dataset);
      if (s.seed) put(s.seed.table, "central");
    }
  }
  return out;
}

/** The statements of generated/tables.ts (after its imports), deterministic: tables sorted by name. */
export function tablesStatements(
  pipelines: readonly PipelineIR[],
  exportConst: (name: string, doc: string, initializer: string) => string,
): string[] {
  const all = new Map<string, TableSchema>();
  for (const p of pipelines) for (const [name, schema] of Object.entries(p.tables)) all.set(name, schema);
  const names = [...all.keys()].sort();
  const datasets = tableDatasets(pipelines);
  const subset = (dataset: "org" | "central") =>
    `{\n${
      names.filter((n) => datasets.get(n) === dataset).map((n) => `  ${n}: tables.${n},`).join("\n")
    }\n} as const satisfies Record<string, TableSchema>`;
  return [
    exportConst(
      "tables",
      "Every table schema the pipelines name, by table name: the one copy pipeline modules and stores share.",
      `${
        literal(Object.fromEntries(names.map((n) => [n, all.get(n)])))
      } as const satisfies Record<string, TableSchema>`,
    ),
    `/** A table name. */\nexport type TableName = keyof typeof tables;`,
    exportConst("centralTables", "Tables of the central dataset (rows keyed by org_slug).", subset("central")),
    exportConst("orgTables", "Tables of each org's own dataset.", subset("org")),
  ];
}
