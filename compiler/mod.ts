/**
 * The config compiler: configs/ (YAML pipelines, JSON table schemas, CSV seeds) -> generated/.
 *
 * @example
 * ```ts
 * const { diagnostics, files } = compileSources(new Map([["x/p.yml", "id: p\n..."]]));
 * ```
 * @module
 */
export { compileDir, type CompileResult, compileSources } from "./compile.ts";
export { type Diagnostic, type DiagnosticCode, formatDiagnostic } from "./diagnostics.ts";
export { emitProgram, modulePath, paramZod } from "./emit.ts";
export type { ParamIR, PipelineIR, ProgramIR } from "./ir.ts";
export { parseConfigs, readConfigSources } from "./parse.ts";
export { pipelinePath, validate } from "./validate.ts";
export { diffGenerated, writeGenerated } from "./write.ts";
