/** The pipeline `reload` block: its bounds, where it may apply, the default of configs/_defaults.yml, the IR. */
import assert from "node:assert/strict";
import { compileSources, formatDiagnostic } from "../../compiler/mod.ts";

const USAGE_SCHEMA = JSON.stringify({
  description: "Usage",
  fields: [{ name: "usage_date", type: "DATE", mode: "REQUIRED" }, { name: "tokens", type: "INT64" }],
  partitioning: { field: "usage_date", type: "DAY" },
});

/** A daily pipeline of `integration` whose line 8 is `reload` (line 5..7: the range params). */
const pipeline = (reload: string, opts: { integration?: string; schedule?: string; params?: string } = {}) =>
  `id: p-x
description: Test pipeline
integration: ${opts.integration ?? "openai"}
schedule: ${opts.schedule ?? "daily"}
${
    opts.params ??
      `params:
  start_date: { type: date, default: yesterday }
  end_date: { type: date, default: "{{ params.start_date }}" }`
  }
${reload}
steps:
  - id: extract
    ps_type: openai.usage
    output: { table: usage, schema: p/schemas/usage.json, write: replace_partitions }
`;

const DEFAULTS = `data:
  reload: { trailing_days: 3, previous_month_until_day: 5 }
`;

function compile(yaml: string, defaults?: string) {
  const sources = new Map([["p/schemas/usage.json", USAGE_SCHEMA], ["p/x.yml", yaml]]);
  if (defaults) sources.set("_defaults.yml", defaults);
  const { diagnostics, program } = compileSources(sources);
  return { problems: diagnostics.map(formatDiagnostic), program };
}

Deno.test("compile() puts a pipeline's reload window into its IR and module", () => {
  const { problems, program } = compile(pipeline("reload: { trailing_days: 7, previous_month_until_day: 3 }"));
  assert.deepEqual(problems, []);
  assert.deepEqual(program.pipelines[0]!.reload, { trailingDays: 7, previousMonthUntilDay: 3 });
  // previous_month_until_day defaults to 0: the trailing days only.
  const trailing = compile(pipeline("reload: { trailing_days: 2 }"));
  assert.deepEqual(trailing.program.pipelines[0]!.reload, { trailingDays: 2, previousMonthUntilDay: 0 });
});

Deno.test("compile() refuses reload bounds out of range and unknown keys, at their line and column", () => {
  const { problems } = compile(pipeline("reload: { trailing_days: 0, previous_month_until_day: 29, days: 2 }"));
  assert.deepEqual(problems, [
    `configs/p/x.yml:8:26 trailing_days must be a whole number of days from 1 to 31 at "reload.trailing_days" (E_INVALID_VALUE)`,
    `configs/p/x.yml:8:55 previous_month_until_day must be a whole number (a day of the month, 0: never) from 0 to 28 at "reload.previous_month_until_day" (E_INVALID_VALUE)`,
    `configs/p/x.yml:8:59 unknown key "days" at "reload.days" (E_UNKNOWN_KEY)`,
  ]);
  assert.deepEqual(compile(pipeline("reload: { trailing_days: 1.5 }")).problems, [
    `configs/p/x.yml:8:26 trailing_days must be a whole number of days from 1 to 31 at "reload.trailing_days" (E_INVALID_VALUE)`,
  ]);
  assert.deepEqual(compile(pipeline("reload: { trailing_days: 32 }")).problems, [
    `configs/p/x.yml:8:26 trailing_days must be a whole number of days from 1 to 31 at "reload.trailing_days" (E_INVALID_VALUE)`,
  ]);
  assert.deepEqual(compile(pipeline("reload: { previous_month_until_day: 2 }")).problems, [
    `configs/p/x.yml:8:9 missing required key "trailing_days" at "reload.trailing_days" (E_MISSING_KEY)`,
  ]);
});

Deno.test("compile() refuses a reload window for a provider that cannot re-pull past days", () => {
  const { problems } = compile(pipeline("reload: { trailing_days: 3 }", { integration: "deepseek" }));
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^configs\/p\/x\.yml:8:9 provider "deepseek" cannot re-pull past days, so reload must cover the logical day only \(trailing_days: 1, previous_month_until_day: 0\): DeepSeek .* at "reload" \(E_RELOAD\)$/,
  );
  // The previous month is a window too; trailing_days: 1 alone is the logical day and is accepted.
  assert.match(
    compile(pipeline("reload: { trailing_days: 1, previous_month_until_day: 2 }", { integration: "deepseek" }))
      .problems[0]!,
    /^configs\/p\/x\.yml:8:9 provider "deepseek" cannot re-pull .*\(E_RELOAD\)$/,
  );
  assert.deepEqual(compile(pipeline("reload: { trailing_days: 1 }", { integration: "deepseek" })).problems, []);
});

Deno.test("compile() reports the default reload of a non-backfillable provider at the pipeline's integration", () => {
  const { problems } = compile(pipeline("", { integration: "deepseek" }), DEFAULTS);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^configs\/p\/x\.yml:3:14 provider "deepseek" cannot re-pull past days/);
  assert.match(
    problems[0]!,
    /\(the reload of configs\/_defaults\.yml applies; state reload: \{ trailing_days: 1 \}\) at "integration" \(E_RELOAD\)$/,
  );
});

Deno.test("compile() gives daily pipelines the default reload and keeps it from monthly ones", () => {
  const daily = compile(pipeline(""), DEFAULTS);
  assert.deepEqual(daily.problems, []);
  assert.deepEqual(daily.program.pipelines[0]!.reload, { trailingDays: 3, previousMonthUntilDay: 5 });
  const own = compile(pipeline("reload: { trailing_days: 1 }"), DEFAULTS);
  assert.deepEqual(own.program.pipelines[0]!.reload, { trailingDays: 1, previousMonthUntilDay: 0 });
  const monthly = compile(pipeline("", { schedule: "monthly" }), DEFAULTS);
  assert.deepEqual(monthly.problems, []);
  assert.equal(monthly.program.pipelines[0]!.reload, undefined);
});

Deno.test("compile() refuses reload on a monthly pipeline and a window without range params", () => {
  assert.deepEqual(compile(pipeline("reload: { trailing_days: 3 }", { schedule: "monthly" })).problems, [
    `configs/p/x.yml:8:9 reload applies to a daily or cron schedule only, not monthly at "reload" (E_RELOAD)`,
  ]);
  const dateOnly = `params:
  date: { type: date, default: yesterday }
  month: { type: string }`;
  // (The step's processor then misses its date params too: only the reload problem is looked at here.)
  const reload = compile(pipeline("reload: { trailing_days: 3 }", { params: dateOnly })).problems
    .filter((p) => p.endsWith("(E_RELOAD)"));
  assert.deepEqual(reload, [
    `configs/p/x.yml:8:9 a reload window wider than one day needs the params start_date and end_date (not shorthands) at "reload" (E_RELOAD)`,
  ]);
});
