/**
 * Processor specs: the type name and the zod schema of a step's `with:` block.
 * The compiler validates configs against these; implementations bind a `run` to a spec.
 */
import type { z } from "zod";

export interface ProcessorSpec<C extends z.ZodType = z.ZodType, T extends string = string> {
  readonly type: T;
  readonly description: string;
  readonly config: C;
  /** Steps of this processor must declare an `output:` table. */
  readonly requiresOutput?: boolean;
}

/** Declares a processor's type and config schema. */
export function defineProcessorSpec<C extends z.ZodType, const T extends string>(
  spec: ProcessorSpec<C, T>,
): ProcessorSpec<C, T> {
  return spec;
}
