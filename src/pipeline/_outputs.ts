/**
 * Writing a step's output: its rows into the step's output table through the warehouse, replacing the days of the
 * step's range atomically (replace_partitions, the one write mode), after the step's data-quality checks (a failed
 * blocking check writes nothing). A row stream is checked batch by batch inside the one write, which rolls back
 * when a blocking check fails at its end; rows a step has the warehouse compute (`StepResult.load`) are checked by
 * counts in SQL before that write commits. Private to the pipeline folder.
 */
import type { CheckDef, StepDef } from "./module.ts";
import { type CheckOutcome, CheckRun, outcomeOf, runChecks } from "./checks.ts";
import { type Bookkeeper, logDq } from "./_bookkeeping.ts";
import type { RunScope } from "./_scope.ts";
import { CENTRAL_DATASET } from "../central/tables.ts";
import type { RowBatches, StepResult } from "../processors/context.ts";
import { AppError } from "../errors/mod.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { isRowStream, type LoadQuery, type RowCount, type Warehouse } from "../warehouse/warehouse.ts";

/** The warehouse the rows go to, and where check results are booked. */
export interface OutputDeps extends Bookkeeper {
  readonly warehouse: Warehouse;
}

/** Writes a step's rows to its output table; resolves with the rows written. @throws 422 DQ_CHECK_FAILED */
export async function writeOutput(
  deps: OutputDeps,
  scope: RunScope,
  step: StepDef,
  result: StepResult,
): Promise<number> {
  const out = step.output!;
  const schema = scope.pipeline.tables[out.table];
  if (!schema) throw new Error(`Output table "${out.table}" has no schema in "${scope.pipeline.path}"`);
  const dataset = out.dataset === "org" ? scope.org.dataset : CENTRAL_DATASET;
  if (result.load) {
    return await loadInWarehouse(deps, scope, step, { dataset, schema, range: result.range, source: result.load });
  }
  const source = await smallAsArray(result.rows ?? []);
  if (isRowStream(source)) {
    return await replaceStreamed(deps, scope, step, { dataset, schema, range: result.range, source });
  }
  const outcomes = runChecks(step.checks, source);
  scope.ledger.book(logDq(deps, scope, step, outcomes));
  const blocking = firstBlocking(outcomes);
  if (blocking) throw blocking;
  await deps.warehouse.ensureTable(dataset, schema);
  if (!result.range) throw new Error(`Step "${step.id}" returned rows without the range they cover`);
  return await deps.warehouse.replacePartitions(dataset, schema, result.range, source);
}

type Rows = readonly Record<string, unknown>[];

/** A stream of one batch (a one-page answer) as that batch: small writes are cheaper as arrays. */
async function smallAsArray(source: Rows | RowBatches): Promise<Rows | RowBatches> {
  if (!isRowStream(source)) return source;
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const second = first.done ? first : await it.next();
  if (second.done) return first.done ? [] : first.value;
  const rest = { [Symbol.asyncIterator]: () => it };
  return (async function* () {
    yield first.value;
    yield second.value;
    yield* rest;
  })();
}

/** Where a streamed output goes and what it covers. */
interface StreamedWrite {
  readonly dataset: string;
  readonly schema: TableSchema;
  readonly range: StepResult["range"];
  readonly source: RowBatches;
}

/**
 * replace_partitions of a row stream: each batch is counted by the checks on its way into one warehouse write;
 * after the last batch a failed blocking check throws inside that write, so it is rolled back (nothing written).
 */
async function replaceStreamed(
  deps: OutputDeps,
  scope: RunScope,
  step: StepDef,
  write: StreamedWrite,
): Promise<number> {
  const { dataset, schema, range, source } = write;
  if (!range) throw new Error(`Step "${step.id}" returned rows without the range they cover`);
  await deps.warehouse.ensureTable(dataset, schema);
  const checks = new CheckRun(step.checks);
  let outcomes: CheckOutcome[] | undefined;
  async function* checked(): AsyncGenerator<Rows> {
    for await (const batch of source) {
      checks.add(batch);
      yield batch;
    }
    outcomes = checks.finish();
    const blocking = firstBlocking(outcomes);
    if (blocking) throw blocking;
  }
  try {
    return await deps.warehouse.replacePartitions(dataset, schema, range, checked());
  } finally {
    if (outcomes) scope.ledger.book(logDq(deps, scope, step, outcomes));
  }
}

/** What a check counts over rows a load wrote in the warehouse (see `outcomeOf`). */
function rowCountOf(check: CheckDef): RowCount {
  const columns = check.columns ?? [];
  if (check.check === "min_rows") return { kind: "rows" };
  return {
    kind: ({ not_null: "any_null", non_negative: "any_negative", unique: "duplicates" } as const)[check.check],
    columns,
    ...(check.reportBy?.length ? { reportBy: check.reportBy } : {}),
  };
}

/**
 * replace_partitions of rows the warehouse computes itself: the step's checks are counted in SQL over the new rows
 * inside the write's transaction, and a failed blocking check rolls it back (nothing written).
 */
async function loadInWarehouse(
  deps: OutputDeps,
  scope: RunScope,
  step: StepDef,
  write: { dataset: string; schema: TableSchema; range: StepResult["range"]; source: LoadQuery },
): Promise<number> {
  const { dataset, schema, range, source } = write;
  if (!range) throw new Error(`Step "${step.id}" returned rows without the range they cover`);
  await deps.warehouse.ensureTable(dataset, schema);
  let outcomes: CheckOutcome[] | undefined;
  try {
    return await deps.warehouse.replacePartitionsWith(dataset, schema, range, source, {
      counts: step.checks.map(rowCountOf),
      accept: (counts, reported) => {
        outcomes = step.checks.map((check, i) => outcomeOf(check, counts[i]!, reported[i]));
        const blocking = firstBlocking(outcomes);
        if (blocking) throw blocking;
      },
    });
  } finally {
    if (outcomes) scope.ledger.book(logDq(deps, scope, step, outcomes));
  }
}

/** The error of the first failed check of severity "error", if any. */
function firstBlocking(outcomes: readonly CheckOutcome[]): AppError | undefined {
  const o = outcomes.find((x) => !x.passed && x.check.severity === "error");
  return o &&
    new AppError("DQ_CHECK_FAILED", `Data-quality check "${o.check.name}" failed: ${o.message}; nothing was written`);
}
