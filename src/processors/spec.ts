/**
 * Processor specs: the type name and the zod schema of a step's `with:` block.
 * The compiler validates configs against these; implementations bind a `run` to a spec.
 */
import { z } from "zod";

/**
 * What a table reference in `with:` names: `output`, a table an earlier step of the same pipeline writes (the
 * compiler then makes the step depend on that one), or `central`, a central table (dataset "organizations").
 */
export type TableRefKind = "output" | "central";

/** The zod schema of a `with:` value that names a table; list its key in the spec's `tableRefs` too. */
export const tableName = z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a snake_case table name");

export interface ProcessorSpec<C extends z.ZodType = z.ZodType, T extends string = string> {
  readonly type: T;
  readonly description: string;
  readonly config: C;
  /** Steps of this processor must declare an `output:` table. */
  readonly requiresOutput?: boolean;
  /**
   * The `with:` keys whose value is a table name, and what each may name. The compiler resolves them (a typo is a
   * compile error with a suggestion) and infers `depends_on` from them.
   */
  readonly tableRefs?: Readonly<Record<string, TableRefKind>>;
}

/** Declares a processor's type and config schema. */
export function defineProcessorSpec<C extends z.ZodType, const T extends string>(
  spec: ProcessorSpec<C, T>,
): ProcessorSpec<C, T> {
  return spec;
}
