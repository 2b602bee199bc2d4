import assert from "node:assert/strict";
import { compileSources, formatDiagnostic } from "../../compiler/mod.ts";

const USAGE_SCHEMA = JSON.stringify(
  {
    description: "Usage",
    fields: [
      { name: "usage_date", type: "DATE", mode: "REQUIRED" },
      { name: "model", type: "STRING" },
      { name: "tokens", type: "INT64" },
    ],
    partitioning: { field: "usage_date", type: "DAY" },
  },
  null,
  2,
);

/** Compiles one pipeline at configs/p/x.yml beside a valid usage schema; returns formatted diagnostics. */
function problems(yaml: string, extra: Record<string, string> = {}): string[] {
  const sources = new Map<string, string>([
    ["p/schemas/usage.json", USAGE_SCHEMA],
    ["p/x.yml", yaml],
    ...Object.entries(extra),
  ]);
  return compileSources(sources).diagnostics.map(formatDiagnostic);
}

const HEAD = `id: p-x
description: Test pipeline
integration: openai
params:
  start_date: { type: date, default: yesterday }
  end_date: { type: date, default: "{{ params.start_date }}" }
steps:
`;
// HEAD is 7 lines, so the first step starts on line 8.
const STEP = `  - id: extract
    ps_type: openai.usage
    output: { table: usage, schema: p/schemas/usage.json, write: replace_partitions }
`;

Deno.test("compile() accepts a valid pipeline with no diagnostics", () => {
  assert.deepEqual(problems(HEAD + STEP), []);
});

Deno.test("compile() reports YAML syntax errors with their line and column, all of them", () => {
  // The unclosed `[` is reported where it opened (3:4), not at the end of the file (4:1).
  assert.deepEqual(problems("id: a\nid: b\nx: [1, 2\n"), [
    `configs/p/x.yml:2:1 invalid YAML: Map keys must be unique at "<root>" (E_YAML_SYNTAX)`,
    `configs/p/x.yml:3:4 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at "<root>" (E_YAML_SYNTAX)`,
  ]);
  // Each unclosed construct at the character that opened it: the `{` at 1:1, the `[` at 2:13.
  assert.deepEqual(problems(HEAD + STEP, { "p/schemas/broken.json": '{ "description": "x",\n  "fields": [ }' }), [
    `configs/p/schemas/broken.json:1:1 invalid JSON: Flow map must end with a } at "<root>" (E_JSON_SYNTAX)`,
    `configs/p/schemas/broken.json:2:13 invalid JSON: Flow sequence in block collection must be sufficiently indented and end with a ] at "<root>" (E_JSON_SYNTAX)`,
  ]);
});

Deno.test("compile() reports an unclosed quote or bracket at the line that opened it, not the line after", () => {
  assert.deepEqual(problems('id: a\ndescription: "never closed\nkind: data\n'), [
    `configs/p/x.yml:2:14 invalid YAML: Missing closing "quote at "<root>" (E_YAML_SYNTAX)`,
  ]);
  assert.deepEqual(problems("id: a\nsteps: [x,\n  y\n\nkind: data\n"), [
    `configs/p/x.yml:2:8 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at "<root>" (E_YAML_SYNTAX)`,
  ]);
  assert.deepEqual(problems("id: a\nparams:\n  - { x: 1\n"), [
    `configs/p/x.yml:3:5 invalid YAML: Flow map in block collection must be sufficiently indented and end with a } at "<root>" (E_YAML_SYNTAX)`,
  ]);
});

Deno.test("compile() reports a misspelt key at the key itself", () => {
  assert.deepEqual(problems(HEAD.replace("description:", "descripton:") + STEP), [
    `configs/p/x.yml:1:1 missing required key "description" at "description" (E_MISSING_KEY)`,
    `configs/p/x.yml:2:1 unknown key "descripton" at "descripton" (E_UNKNOWN_KEY)`,
  ]);
});

Deno.test("compile() reports every unknown ps_type with its line and a suggestion", () => {
  const yaml = HEAD + STEP.replace("openai.usage", "openai.usge") +
    `  - id: second\n    ps_type: nothing.like.it\n    depends_on: [extract]\n`;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:9:14 unknown processor "openai.usge" (did you mean "openai.usage"?) at "steps[0].ps_type" (E_UNKNOWN_PS_TYPE)`,
    `configs/p/x.yml:12:14 unknown processor "nothing.like.it" at "steps[1].ps_type" (E_UNKNOWN_PS_TYPE)`,
  ]);
});

Deno.test("compile() checks with: against the processor's schema", () => {
  const yaml = HEAD + STEP.replace("    output:", "    with: { page_limit: 99, colour: red }\n    output:");
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:10:25 Too big: expected number to be <=31 for processor "openai.usage" at "steps[0].with.page_limit" (E_PROCESSOR_CONFIG)`,
    `configs/p/x.yml:10:29 unknown key "colour" for processor "openai.usage" at "steps[0].with.colour" (E_PROCESSOR_CONFIG)`,
  ]);
});

Deno.test("compile() reports unknown dependencies, cycles and duplicate step ids", async (t) => {
  await t.step("unknown dependency", () => {
    const yaml = HEAD + STEP +
      `  - id: cost\n    ps_type: integrations.kms_store\n    with: { provider: OPENAI }\n    depends_on: [extrct]\n`;
    assert.deepEqual(problems(yaml), [
      `configs/p/x.yml:14:18 step "cost" depends on unknown step "extrct" (did you mean "extract"?) at "steps[1].depends_on[0]" (E_UNKNOWN_DEPENDENCY)`,
    ]);
  });
  await t.step("cycle", () => {
    const step = (id: string, dep: string) =>
      `  - id: ${id}\n    ps_type: integrations.kms_store\n    with: { provider: OPENAI }\n    depends_on: [${dep}]\n`;
    const yaml = HEAD + step("a", "c") + step("b", "a") + step("c", "b");
    assert.deepEqual(problems(yaml), [
      `configs/p/x.yml:11:17 dependency cycle: a -> c -> b -> a at "steps[0].depends_on" (E_DEPENDENCY_CYCLE)`,
    ]);
  });
  await t.step("duplicate id", () => {
    assert.deepEqual(problems(HEAD + STEP + STEP), [
      `configs/p/x.yml:11:9 duplicate step id "extract" (first used by steps[0]) at "steps[1].id" (E_DUPLICATE_STEP_ID)`,
    ]);
  });
});

Deno.test("compile() reports missing and invalid table schema files", async (t) => {
  await t.step("missing file", () => {
    assert.deepEqual(problems(HEAD + STEP.replace("p/schemas/usage.json", "p/schemas/nope.json")), [
      `configs/p/x.yml:10:37 schema file "configs/p/schemas/nope.json" does not exist at "steps[0].output.schema" (E_SCHEMA_FILE_MISSING)`,
    ]);
  });
  await t.step("unknown column type and mode, and bad partition column", () => {
    const bad = `{
  "description": "Bad",
  "fields": [
    { "name": "usage_date", "type": "DATETIME" },
    { "name": "model", "type": "STRING", "mode": "OPTIONAL" }
  ],
  "partitioning": { "field": "model" }
}`;
    const out = problems(HEAD + STEP, { "p/schemas/bad.json": bad });
    assert.deepEqual(out, [
      `configs/p/schemas/bad.json:4:37 Invalid option: expected one of "STRING"|"INT64"|"FLOAT64"|"NUMERIC"|"BOOLEAN"|"DATE"|"TIMESTAMP"|"JSON"|"BYTES" at "fields[0].type" (E_TABLE_SCHEMA)`,
      `configs/p/schemas/bad.json:5:50 Invalid option: expected one of "NULLABLE"|"REQUIRED"|"REPEATED" at "fields[1].mode" (E_TABLE_SCHEMA)`,
    ]);
    const out2 = problems(HEAD + STEP, {
      "p/schemas/bad.json": bad.replace("DATETIME", "DATE").replace("OPTIONAL", "NULLABLE"),
    });
    assert.deepEqual(out2, [
      `configs/p/schemas/bad.json:7:30 partition column "model" must be DATE or TIMESTAMP, not STRING at "partitioning.field" (E_TABLE_SCHEMA)`,
    ]);
  });
});

Deno.test("compile() checks templates against declared params and known context", () => {
  const yaml = HEAD +
    STEP.replace(
      "    output:",
      `    with: { start_date: "{{ params.start }}", end_date: "{{ org.name }}" }\n    output:`,
    ) +
    `  - id: broken\n    ps_type: integrations.kms_store\n    with: { provider: "{{ params.start_date" }\n`;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:10:25 template references undeclared param "start" at "steps[0].with.start_date" (E_UNKNOWN_TEMPLATE_REF)`,
    `configs/p/x.yml:10:57 template references unknown context "org.name" (known: params.*, org.slug, org.dataset, run.id, run.date, run.trigger, pipeline.id, pipeline.path, env.environment, env.dataset_suffix) at "steps[0].with.end_date" (E_UNKNOWN_TEMPLATE_REF)`,
    `configs/p/x.yml:14:23 Invalid option: expected one of "OPENAI"|"ANTHROPIC"|"DEEPSEEK"|"GCP_SA" for processor "integrations.kms_store" at "steps[1].with.provider" (E_PROCESSOR_CONFIG)`,
  ]);
});

Deno.test("compile() reports a processor default that needs an undeclared param at the step", () => {
  const yaml = HEAD.replace(/params:\n.*\n.*\n/, "params:\n  day: { type: date, default: yesterday }\n") + STEP;
  assert.deepEqual(
    problems(yaml),
    [
      `configs/p/x.yml:8:14 template references undeclared param "start_date" (default of with.start_date) at "steps[0].ps_type" (E_UNKNOWN_TEMPLATE_REF)`,
      `configs/p/x.yml:8:14 template references undeclared param "end_date" (default of with.end_date) at "steps[0].ps_type" (E_UNKNOWN_TEMPLATE_REF)`,
    ].sort(),
  );
});

Deno.test("compile() checks param defaults", () => {
  const yaml = HEAD.replace("default: yesterday", "default: last week").replace(
    '"{{ params.start_date }}"',
    '"{{ params.later }}"',
  ).replace("steps:", "  later: { type: integer, default: 1.5 }\nsteps:") + STEP;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:5:38 default of date param "start_date" must be yesterday, today, YYYY-MM-DD or a template, not "last week" at "params.start_date.default" (E_PARAM_DEFAULT)`,
    `configs/p/x.yml:6:36 template references undeclared param "later" (a default may only use params declared before it) at "params.end_date.default" (E_PARAM_DEFAULT)`
      .replace("E_PARAM_DEFAULT", "E_UNKNOWN_TEMPLATE_REF"),
    `configs/p/x.yml:7:36 default of integer param "later" must be an integer at "params.later.default" (E_PARAM_DEFAULT)`,
  ]);
});

Deno.test("compile() accepts a shorthand param and rejects one that names a missing, typed or aliased param", () => {
  const ok = HEAD.replace("steps:", "  date: { type: date, alias_of: [start_date, end_date] }\nsteps:") + STEP;
  assert.deepEqual(problems(ok), []);
  const yaml = HEAD.replace(
    "steps:",
    [
      "  date: { type: date, alias_of: [start_date, stop], default: today }",
      "  n: { type: integer, alias_of: [start_date] }",
      "  d2: { type: date, alias_of: [date] }",
      "  e: { type: date, alias_note: why }",
      "steps:",
    ].join("\n"),
  ) + STEP;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:7:46 alias_of names "stop", which is not a param of this pipeline at "params.date.alias_of[1]" (E_PARAM_ALIAS)`,
    `configs/p/x.yml:7:62 shorthand param "date" cannot have a default at "params.date.default" (E_PARAM_ALIAS)`,
    `configs/p/x.yml:8:34 param "n" (integer) cannot be a shorthand for "start_date" (date) at "params.n.alias_of[0]" (E_PARAM_ALIAS)`,
    `configs/p/x.yml:9:32 alias_of names "date", which is itself a shorthand at "params.d2.alias_of[0]" (E_PARAM_ALIAS)`,
    `configs/p/x.yml:10:32 param "e" has an alias_note but no alias_of at "params.e.alias_note" (E_PARAM_ALIAS)`,
  ]);
});

Deno.test("compile() refuses a template that reads a shorthand param", () => {
  const yaml = HEAD.replace("steps:", "  date: { type: date, alias_of: [start_date] }\nsteps:") +
    STEP.replace("    output:", '    with: { start_date: "{{ params.date }}" }\n    output:');
  assert.equal(problems(yaml).length, 1);
  assert.match(
    problems(yaml)[0]!,
    /undeclared param "date" at "steps\[0\]\.with\.start_date" \(E_UNKNOWN_TEMPLATE_REF\)/,
  );
});

Deno.test("compile() requires outputs, valid partition fields and existing check columns", () => {
  const yaml = HEAD + `  - id: extract
    ps_type: openai.usage
  - id: other
    ps_type: openai.usage
    output: { table: usage, schema: p/schemas/usage.json, write: replace_partitions, partition_field: model }
    checks:
      - { name: c1, check: not_null, columns: [modle] }
`;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:9:14 processor "openai.usage" writes a table, so step "extract" needs an "output" at "steps[0].ps_type" (E_OUTPUT_REQUIRED)`,
    `configs/p/x.yml:12:103 partition field "model" must be DATE or TIMESTAMP, not STRING at "steps[1].output.partition_field" (E_PARTITION_FIELD)`,
  ]);
  const yaml2 = yaml.replace(", partition_field: model", "").replace(
    "  - id: extract\n    ps_type: openai.usage\n",
    "",
  );
  assert.deepEqual(problems(yaml2), [
    `configs/p/x.yml:12:48 column "modle" is not in table "usage" at "steps[0].checks[0].columns[0]" (E_CHECK_COLUMN)`,
  ]);
});

Deno.test("compile() validates CSV seed rows against the table schema", () => {
  const yaml = HEAD + STEP + `  - id: seed
    ps_type: integrations.seed
    with: { provider: openai }
    seed: { table: usage, schema: p/schemas/usage.json, data: p/seed.csv }
`;
  const csv = "usage_date,model,tokens,colour\n2025-01-01,a,1,red\n";
  assert.deepEqual(problems(yaml, { "p/seed.csv": csv }), [
    `configs/p/seed.csv:1:25 column "colour" is not in table "usage" at "header[3]" (E_SEED_DATA)`,
  ]);
  const csv2 = "usage_date,model,tokens\n2025-13-01,a,x\n,b,2\n";
  assert.deepEqual(problems(yaml, { "p/seed.csv": csv2 }), [
    `configs/p/seed.csv:2:1 "2025-13-01" is not a date (YYYY-MM-DD) at "row 2.usage_date" (E_SEED_DATA)`,
    `configs/p/seed.csv:2:14 "x" is not an INT64 at "row 2.tokens" (E_SEED_DATA)`,
    `configs/p/seed.csv:3:1 column "usage_date" is REQUIRED at "row 3.usage_date" (E_SEED_DATA)`,
  ]);
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:14:63 seed data file "configs/p/seed.csv" does not exist at "steps[1].seed.data" (E_SEED_DATA)`,
  ]);
});

Deno.test("compile() checks routes, kinds and uniqueness across pipelines", () => {
  const sys = `id: p-x
description: System
kind: system
route: { method: POST, path: "/admin/{org_slug}/x", auth: root }
steps:
  - id: boot
    ps_type: setup.initial.onetime_bootstrap
`;
  assert.deepEqual(problems(sys), [
    `configs/p/x.yml:4:30 a route with {org_slug} needs org auth at "route.path" (E_ROUTE)`,
  ]);
  const twin = sys.replace("/admin/{org_slug}/x", "/admin/x");
  assert.deepEqual(problems(twin, { "p/y.yml": twin }), [
    `configs/p/y.yml:1:5 pipeline id "p-x" is also used by configs/p/x.yml at "id" (E_DUPLICATE_PIPELINE_ID)`,
    `configs/p/y.yml:4:8 route "POST /admin/x" is also declared by configs/p/x.yml at "route" (E_DUPLICATE_ROUTE)`,
  ]);
  assert.deepEqual(problems(HEAD.replace("integration: openai\n", "") + STEP), [
    `configs/p/x.yml:1:1 a data pipeline must name its integration at "kind" (E_INTEGRATION)`,
  ]);
});

Deno.test("compile() reports every problem of a file with several errors, in order", () => {
  const yaml = `id: Not_Kebab
description: Many problems
integration: openia
params:
  start_date: { type: date, default: yesterday, colour: red }
steps:
  - id: a
    ps_type: openai.usge
  - id: a
    ps_type: integrations.kms_store
    depends_on: [zz]
`;
  const out = problems(yaml);
  // Shape errors no longer stop the file: the semantic errors of the parts that have the right shape follow.
  assert.deepEqual(out.map((l) => l.replace(/^configs\/p\/x\.yml:(\d+:\d+) .* \((E_[A-Z_]+)\)$/, "$1 $2")), [
    "1:5 E_INVALID_VALUE",
    "3:14 E_INVALID_VALUE",
    "5:49 E_UNKNOWN_KEY",
    "8:14 E_UNKNOWN_PS_TYPE",
    "9:9 E_DUPLICATE_STEP_ID",
    "11:18 E_UNKNOWN_DEPENDENCY",
  ]);
});

Deno.test("compile() reports a shape error and a bad ps_type in the same file, both", () => {
  const yaml = HEAD.replace("integration: openai", "integration: openai\ntimeout_minutes: 0") +
    STEP.replace("openai.usage", "openai.usge") +
    `  - id: second\n    ps_type: integrations.kms_store\n    colour: red\n    with: { provider: OPENAI }\n`;
  assert.deepEqual(problems(yaml), [
    `configs/p/x.yml:4:18 Too small: expected number to be >=1 at "timeout_minutes" (E_INVALID_VALUE)`,
    `configs/p/x.yml:10:14 unknown processor "openai.usge" (did you mean "openai.usage"?) at "steps[0].ps_type" (E_UNKNOWN_PS_TYPE)`,
    `configs/p/x.yml:14:5 unknown key "colour" at "steps[1].colour" (E_UNKNOWN_KEY)`,
  ]);
  // A shape error inside a step does not hide that step's own bad ps_type, nor cause follow-on errors.
  const inStep = HEAD + STEP.replace("openai.usage", "openai.usge").replace("write:", "dataset: orgs, write:");
  assert.deepEqual(problems(inStep), [
    `configs/p/x.yml:9:14 unknown processor "openai.usge" (did you mean "openai.usage"?) at "steps[0].ps_type" (E_UNKNOWN_PS_TYPE)`,
    `configs/p/x.yml:10:68 Invalid option: expected one of "org"|"central" at "steps[0].output.dataset" (E_INVALID_VALUE)`,
  ]);
});

Deno.test("compile() output is deterministic whatever order the files arrive in", () => {
  const a = new Map([["p/schemas/usage.json", USAGE_SCHEMA], ["p/x.yml", HEAD + STEP], [
    "p/y.yml",
    (HEAD + STEP).replace("p-x", "p-y"),
  ]]);
  const b = new Map([...a.entries()].reverse());
  const ra = compileSources(a).files;
  const rb = compileSources(b).files;
  assert.deepEqual([...ra.keys()], [...rb.keys()]);
  for (const [k, v] of ra) assert.equal(rb.get(k), v, k);
  assert.ok([...ra.values()].every((text, i) => [...ra.keys()][i]!.endsWith(".json") || text.includes("DO NOT EDIT")));
});

const COST_SCHEMA = JSON.stringify({
  description: "Cost",
  fields: [{ name: "usage_date", type: "DATE", mode: "REQUIRED" }, { name: "cost", type: "NUMERIC" }],
  partitioning: { field: "usage_date", type: "DAY" },
});
// Line 11 of HEAD + STEP + COST_STEP is the `source_table` line.
const COST_STEP = `  - id: transform
    ps_type: openai.cost
    with:
      source_table: usage
    output: { schema: p/schemas/cost.json, write: replace_partitions }
`;

Deno.test("compile() fails on a misspelt source_table at its line, with a suggestion", () => {
  const yaml = HEAD + STEP + COST_STEP.replace("source_table: usage", "source_table: usag");
  assert.deepEqual(problems(yaml, { "p/schemas/cost.json": COST_SCHEMA }), [
    `configs/p/x.yml:14:21 with.source_table names "usag", which no earlier step of this pipeline writes (did you mean "usage"?) at "steps[1].with.source_table" (E_UNKNOWN_TABLE_REF)`,
  ]);
});

Deno.test("compile() refuses a table reference to a step declared later or to the step itself", () => {
  const later = HEAD + COST_STEP + STEP;
  assert.deepEqual(problems(later, { "p/schemas/cost.json": COST_SCHEMA }), [
    `configs/p/x.yml:11:21 with.source_table names "usage", which step "extract" writes after step "transform"; declare it first at "steps[0].with.source_table" (E_UNKNOWN_TABLE_REF)`,
  ]);
  const own = HEAD + COST_STEP.replace("source_table: usage", "source_table: cost");
  assert.deepEqual(problems(own, { "p/schemas/cost.json": COST_SCHEMA }), [
    `configs/p/x.yml:11:21 step "transform" cannot read its own output "cost" (with.source_table) at "steps[0].with.source_table" (E_UNKNOWN_TABLE_REF)`,
  ]);
});

Deno.test("compile() infers depends_on from table references and keeps an explicit one", () => {
  const kms = `  - id: store\n    ps_type: integrations.kms_store\n    with: { provider: OPENAI }\n`;
  const yaml = HEAD + kms + STEP + COST_STEP.replace("    with:", "    depends_on: [store]\n    with:");
  const { diagnostics, program, files } = compileSources(
    new Map([["p/schemas/usage.json", USAGE_SCHEMA], ["p/schemas/cost.json", COST_SCHEMA], ["p/x.yml", yaml]]),
  );
  assert.deepEqual(diagnostics, []);
  const steps = program.pipelines[0]!.steps;
  assert.deepEqual(steps.map((s) => [s.id, s.dependsOn]), [["store", []], ["extract", []], [
    "transform",
    ["store", "extract"],
  ]]);
  assert.match(files.get("generated/pipelines/p/x.ts")!, /dependsOn: \["store", "extract"\]/);
  // The output table defaults to the schema file's name.
  assert.equal(steps[2]!.output?.table, "cost");
});

Deno.test("compile() reports a cycle made by an explicit depends_on against an inferred one", () => {
  const yaml = HEAD + STEP.replace("    output:", "    depends_on: [transform]\n    output:") + COST_STEP;
  const out = problems(yaml, { "p/schemas/cost.json": COST_SCHEMA });
  assert.equal(out.length, 1);
  assert.match(out[0]!, /dependency cycle: extract -> transform -> extract .*\(E_DEPENDENCY_CYCLE\)$/);
});

const DEFAULTS = `data:
  params:
    start_date: { type: date, default: yesterday }
    end_date: { type: date, default: "{{ params.start_date }}" }
  notify:
    on_failure:
      - ps_type: notify_systems.slack_notification
`;
const BARE = `id: p-x
description: Test pipeline
integration: openai
steps:
` + STEP;

Deno.test("compile() gives a pipeline that omits params and notify the defaults of configs/_defaults.yml", () => {
  const sources = new Map([["_defaults.yml", DEFAULTS], ["p/schemas/usage.json", USAGE_SCHEMA], ["p/x.yml", BARE]]);
  const { diagnostics, program } = compileSources(sources);
  assert.deepEqual(diagnostics, []);
  const p = program.pipelines[0]!;
  assert.deepEqual(p.params.map((x) => [x.name, x.default]), [
    ["start_date", "yesterday"],
    ["end_date", "{{ params.start_date }}"],
  ]);
  assert.deepEqual(p.notify.map((n) => [n.trigger, n.psType]), [["on_failure", "notify_systems.slack_notification"]]);
  // The output's dataset defaults to org and its table to the schema file's name.
  assert.deepEqual(p.steps[0]!.output, {
    table: "usage",
    dataset: "org",
    write: "replace_partitions",
    partitionField: "usage_date",
  });
});

Deno.test("compile() lets a pipeline's own params and notify replace the defaults, and keeps them to their kind", () => {
  const own = BARE.replace(
    "steps:",
    "params:\n  start_date: { type: date, default: today }\n  end_date: { type: date, default: today }\nnotify: {}\nsteps:",
  );
  const sys = `id: p-sys\ndescription: System\nkind: system\nroute: { method: POST, path: /admin/x, auth: root }\n` +
    `steps:\n  - id: boot\n    ps_type: setup.initial.onetime_bootstrap\n`;
  const { diagnostics, program } = compileSources(
    new Map([["_defaults.yml", DEFAULTS], ["p/schemas/usage.json", USAGE_SCHEMA], ["p/x.yml", own], ["p/y.yml", sys]]),
  );
  assert.deepEqual(diagnostics, []);
  const [x, y] = program.pipelines;
  assert.deepEqual(x!.params.map((p) => [p.name, p.default]), [["start_date", "today"], ["end_date", "today"]]);
  assert.deepEqual(x!.notify, []);
  assert.deepEqual([y!.params, y!.notify], [[], []]);
});

Deno.test("compile() reports a problem in a default once, in configs/_defaults.yml, however many pipelines take it", () => {
  const bad = DEFAULTS.replace("default: yesterday", "default: last week")
    .replace("notify_systems.slack_notification", "notify_systems.slack_notificaton");
  const out = problems(BARE, { "_defaults.yml": bad, "p/y.yml": BARE.replace("p-x", "p-y") });
  assert.deepEqual(out, [
    `configs/_defaults.yml:3:40 default of date param "start_date" must be yesterday, today, YYYY-MM-DD or a template, not "last week" at "data.params.start_date.default" (E_PARAM_DEFAULT)`,
    `configs/_defaults.yml:7:18 unknown notification processor "notify_systems.slack_notificaton" (did you mean "notify_systems.slack_notification"?) at "data.notify.on_failure[0].ps_type" (E_UNKNOWN_PS_TYPE)`,
  ]);
});

Deno.test("compile() resolves a central table reference against the tables the pipelines declare central", async () => {
  const { z } = await import("zod");
  const { PROCESSOR_SPECS } = await import("../../src/processors/specs.ts");
  const { defineProcessorSpec, tableName } = await import("../../src/processors/spec.ts");
  const reader = defineProcessorSpec({
    type: "test.read_prices",
    description: "Reads a central table",
    config: z.strictObject({ prices_table: tableName }),
    tableRefs: { prices_table: "central" },
  });
  const specs = new Map([...PROCESSOR_SPECS, [reader.type, reader]]);
  const yaml = (table: string) =>
    HEAD +
    `  - id: boot\n    ps_type: setup.initial.onetime_bootstrap\n    tables: [{ schema: p/schemas/usage.json }]\n` +
    `  - id: read\n    ps_type: test.read_prices\n    with: { prices_table: ${table} }\n`;
  const run = (table: string) =>
    compileSources(new Map([["p/schemas/usage.json", USAGE_SCHEMA], ["p/x.yml", yaml(table)]]), { specs })
      .diagnostics.map(formatDiagnostic);
  assert.deepEqual(run("usage"), []);
  assert.deepEqual(run("usages"), [
    `configs/p/x.yml:13:27 with.prices_table names "usages", which is not a central table (did you mean "usage"?) at "steps[1].with.prices_table" (E_UNKNOWN_TABLE_REF)`,
  ]);
});

Deno.test("compile() refuses the write modes append, truncate and merge, naming the one that is supported", () => {
  for (const mode of ["append", "truncate", "merge"]) {
    const yaml = HEAD + STEP.replace("write: replace_partitions", `write: ${mode}`);
    assert.deepEqual(problems(yaml), [
      `configs/p/x.yml:10:66 write mode "${mode}" is not supported: outputs are written with "replace_partitions" ` +
      `(re-running a range replaces its days, never duplicates them) at "steps[0].output.write" (E_INVALID_VALUE)`,
    ]);
  }
  const merge = HEAD + STEP.replace("write: replace_partitions", "write: replace_partitions, merge_keys: [model]");
  assert.deepEqual(problems(merge), [
    `configs/p/x.yml:10:86 unknown key "merge_keys" at "steps[0].output.merge_keys" (E_UNKNOWN_KEY)`,
  ]);
});

Deno.test("compile() refuses two checks of one step with the same name", () => {
  const yaml = HEAD + STEP +
    `    checks:\n      - { name: c, check: min_rows, value: 1 }\n      - { name: c, check: not_null, columns: [tokens] }\n`;
  const out = problems(yaml);
  assert.equal(out.length, 1, out.join("\n"));
  assert.match(
    out[0]!,
    /^configs\/p\/x\.yml:13:\d+ duplicate check name "c" \(first used by checks\[0\]\) .*\(E_DUPLICATE_CHECK\)$/,
  );
});

Deno.test("compile() checks report_by: a column of the output, on not_null and non_negative checks only", () => {
  const checks = (check: string) =>
    HEAD + STEP + `    checks:\n      - { name: c, check: ${check}, columns: [tokens], report_by: [modle] }\n`;
  const out = problems(checks("not_null"));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^configs\/p\/x\.yml:12:\d+ column "modle" is not in table "usage" .*\(E_CHECK_COLUMN\)$/);
  assert.deepEqual(problems(checks("not_null").replace("[modle]", "[model]")), []);
  const unique = problems(checks("unique").replace("[modle]", "[model]"));
  assert.equal(unique.length, 1);
  assert.match(unique[0]!, /report_by applies to not_null and non_negative checks, not unique/);
});
