/** The whole pipeline: read -> parse -> validate -> emit, in memory. */
import { type Diagnostic, sortDiagnostics } from "./diagnostics.ts";
import { emitProgram } from "./emit.ts";
import type { ProgramIR } from "./ir.ts";
import { type ConfigSources, parseConfigs, readConfigSources } from "./parse.ts";
import { validate } from "./validate.ts";
import { PROCESSOR_SPECS } from "../src/processors/specs.ts";
import type { ProcessorSpec } from "../src/processors/spec.ts";

export interface CompileResult {
  readonly diagnostics: Diagnostic[];
  readonly program: ProgramIR;
  /** Generated files by path relative to the repository root; empty when there are diagnostics. */
  readonly files: Map<string, string>;
}

/** Compiles config sources held in memory (what tests use). */
export function compileSources(
  sources: ConfigSources,
  opts: { specs?: ReadonlyMap<string, ProcessorSpec>; prefix?: string } = {},
): CompileResult {
  const tree = parseConfigs(sources, opts.prefix ?? "configs");
  const { program, diagnostics } = validate(tree, opts.specs ?? PROCESSOR_SPECS, opts.prefix ?? "configs");
  const sorted = sortDiagnostics(diagnostics);
  return { diagnostics: sorted, program, files: sorted.length ? new Map() : emitProgram(program) };
}

/** Reads `${root}/configs` and compiles it. */
export async function compileDir(root: string): Promise<CompileResult> {
  return compileSources(await readConfigSources(`${root}/configs`));
}
