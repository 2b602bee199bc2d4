/** Processor implementations bound to their specs, by `ps_type`. */
import type { z } from "zod";
import type { ProcessorSpec } from "./spec.ts";
import type { ProcessorContext, StepResult } from "./context.ts";

export interface Processor<C extends z.ZodType = z.ZodType> {
  readonly spec: ProcessorSpec<C>;
  run(ctx: ProcessorContext, config: z.output<C>): Promise<StepResult>;
}

/** Binds a `run` to a spec (the compiler validated the config against the same spec). */
export function defineProcessor<C extends z.ZodType, T extends string>(
  spec: ProcessorSpec<C, T>,
  run: (ctx: ProcessorContext, config: z.output<C>) => Promise<StepResult>,
): Processor {
  return { spec, run } as unknown as Processor;
}

/** A registry of implementations; `get` of an unimplemented type returns undefined. */
export class ProcessorRegistry {
  readonly #byType = new Map<string, Processor>();

  constructor(processors: readonly Processor[] = []) {
    for (const p of processors) this.register(p);
  }

  register(p: Processor): void {
    if (this.#byType.has(p.spec.type)) throw new Error(`Processor "${p.spec.type}" is registered twice`);
    this.#byType.set(p.spec.type, p);
  }

  get(type: string): Processor | undefined {
    return this.#byType.get(type);
  }

  types(): string[] {
    return [...this.#byType.keys()].sort();
  }
}
