import assert from "node:assert/strict";
import { compileDir } from "../../compiler/mod.ts";
import { diffGenerated } from "../../compiler/write.ts";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { centralTables, orgTables, tables } from "../../generated/tables.ts";

const root = new URL("../..", import.meta.url).pathname;

Deno.test("generated/ is what the configs compile to, tables.ts included (compile --check is clean)", async () => {
  const result = await compileDir(root);
  assert.deepEqual(result.diagnostics, []);
  assert.ok(result.files.has("generated/tables.ts"));
  assert.deepEqual(await diffGenerated(root, result.files), []);
  const again = await compileDir(root);
  assert.equal(again.files.get("generated/tables.ts"), result.files.get("generated/tables.ts"), "deterministic");
});

Deno.test("every pipeline module's tables are the shared objects of generated/tables.ts", () => {
  let seen = 0;
  for (const p of Object.values(pipelines) as PipelineModule[]) {
    for (const [name, schema] of Object.entries(p.tables)) {
      assert.equal(schema, (tables as Record<string, unknown>)[name], `${p.path}: ${name} is not the shared schema`);
      assert.equal(schema.table, name);
      seen++;
    }
  }
  assert.ok(seen > Object.keys(tables).length, "some table is used by more than one pipeline");
  assert.equal(pipelines["setup/bootstrap"].tables.org_model_pricing, tables.org_model_pricing);
});

Deno.test("tables.ts splits every table into the central or the org dataset, once", () => {
  const central = Object.keys(centralTables);
  const org = Object.keys(orgTables);
  assert.deepEqual([...central, ...org].sort(), Object.keys(tables).sort());
  assert.ok(central.includes("org_api_keys") && central.includes("org_model_pricing"));
  assert.ok(org.includes("openai_cost_daily") && !org.includes("org_profiles"));
  // The bootstrap step creates exactly the central tables.
  const bootstrap = pipelines["setup/bootstrap"].steps[0]!.tables.map((t) => t.table).sort();
  assert.deepEqual(bootstrap, central.sort());
});
