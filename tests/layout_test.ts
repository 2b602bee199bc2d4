/**
 * The shape issue 14 set, kept by a test: no source file over 400 lines in compiler/, runtime/, src/; no SQL text
 * in runtime/ (routes call the central stores); nothing in src/ imports generated/ (tables and pipelines are
 * injected at start-up), so a stale generated/ cannot break the type check of src/.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

async function read(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const path of sources(dir)) out.push([path, await Deno.readTextFile(new URL(path, ROOT))]);
  return out.sort(([a], [b]) => a.localeCompare(b));
}

Deno.test("no file in compiler/, runtime/ or src/ is over 400 lines", async () => {
  const long: string[] = [];
  for (const dir of ["compiler", "runtime", "src"]) {
    for (const [path, text] of await read(dir)) {
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > 400) long.push(`${path} (${lines} lines)`);
    }
  }
  assert.deepEqual(long, []);
});

/** A statement keyword followed by what makes it SQL (a column list and FROM, a table), not an English word. */
const SQL =
  /\b(SELECT\s+[\w*${][^;`]{0,400}?\bFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|MERGE\s+INTO\s|CREATE\s+TABLE\s)/;

const withSql = (files: [string, string][]) =>
  files.filter(([, text]) => SQL.test(text)).map(([path, text]) => `${path}: ${SQL.exec(text)![0].slice(0, 40)}`);

Deno.test("runtime/ holds no SQL text: routes and middleware call the central stores", async () => {
  assert.deepEqual(withSql(await read("runtime")), []);
});

Deno.test("SQL text in src/ lives only in the warehouse adapters and the central stores", async () => {
  const files = (await read("src")).filter(([p]) => !p.startsWith("src/warehouse/") && !p.startsWith("src/central/"));
  assert.deepEqual(withSql(files), []);
});

Deno.test("nothing in src/ imports generated/", async () => {
  const found = (await read("src")).filter(([, text]) => /from\s+["'][./]*generated\//.test(text)).map(([p]) => p);
  assert.deepEqual(found, []);
});

Deno.test("the SQL pattern of the layout test finds real statements and skips prose", async () => {
  // The stores do hold SQL: the checks above would see it if it moved back into runtime/ or the processors.
  assert.ok(withSql(await read("src/central")).length >= 5);
  assert.ok(SQL.test("SELECT run_id FROM x"));
  assert.ok(SQL.test("DELETE FROM ${CENTRAL_DATASET}.org_api_keys"));
  assert.ok(SQL.test("UPDATE ${t} SET a = 1"));
  assert.ok(!SQL.test("Select a provider from the list"));
  assert.ok(!SQL.test("// the delete from the route is gone"));
  assert.ok(!SQL.test("/** Columns of the unified cost row, in SELECT order. */"));
  assert.ok(SQL.test("SELECT ${RUN_COLUMNS}\n FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs"));
});
