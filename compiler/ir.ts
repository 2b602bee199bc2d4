/** The compiler's intermediate representation: plain typed data, validated and resolved. */
import type { ParamSpec } from "./dsl.ts";
import type { NotifierModule, NotifyDef, ParamDef, PipelineModule, StepDef } from "../src/pipeline/module.ts";
import type { TableSchema } from "../src/schema/table_schema.ts";

/** A param: what the runtime needs plus the constraints the params schema is built from. */
export interface ParamIR extends ParamDef {
  readonly constraints: Omit<
    ParamSpec,
    "type" | "description" | "required" | "default" | "secret" | "alias_of" | "alias_note"
  >;
}

export interface PipelineIR extends Omit<PipelineModule, "paramsSchema" | "params"> {
  readonly params: readonly ParamIR[];
  readonly steps: readonly StepDef[];
  readonly notify: readonly NotifyDef[];
  readonly tables: Readonly<Record<string, TableSchema>>;
}

export type NotifierIR = NotifierModule;

export interface ProgramIR {
  /** Pipelines sorted by path. */
  readonly pipelines: readonly PipelineIR[];
  /** Notifier configs sorted by name. */
  readonly notifiers: readonly NotifierIR[];
}
