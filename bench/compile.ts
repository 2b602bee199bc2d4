/**
 * Compiler benchmark: 500 generated pipeline configs compiled in memory (target <= 3 s of work beyond Deno's
 * start), and a no-change `compile --check` on the real configs as a process (target <= 1 s beyond the start of
 * an empty Deno script, measured in the same run).
 * Run: deno run -A bench/compile.ts
 */
import { compileSources, readConfigSources } from "../compiler/mod.ts";

const real = await readConfigSources(new URL("../configs", import.meta.url).pathname);
const template = real.get("openai/usage_cost.yml")!;
const sources = new Map(real);
for (let i = 0; i < 500; i++) {
  sources.set(`generated_bench/p${i}.yml`, template.replace("id: openai-usage-cost", `id: bench-pipeline-${i}`));
}

const t0 = performance.now();
const { diagnostics, files } = compileSources(sources);
const compileMs = performance.now() - t0;
if (diagnostics.length) throw new Error(`bench configs have errors: ${diagnostics[0]!.message}`);

async function timed(args: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return performance.now() - t;
}
const empty = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(empty, "export {};\n");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const startMs: number[] = [];
const checkMs: number[] = [];
for (let i = 0; i < 3; i++) {
  startMs.push(await timed(["run", "-A", empty]));
  checkMs.push(
    await timed(["run", "--allow-read=.", "--allow-write=generated", "--allow-env", "compiler/main.ts", "--check"]),
  );
}
await Deno.remove(empty);

console.log(JSON.stringify(
  {
    compile_500: { pipelines: 500 + 16, files: files.size, work_ms: Math.round(compileMs), target_ms: 3000 },
    check_real: {
      baseline_deno_start_ms: Math.round(median(startMs)),
      compile_check_ms: Math.round(median(checkMs)),
      beyond_start_ms: Math.round(median(checkMs) - median(startMs)),
      target_beyond_start_ms: 1000,
    },
  },
  null,
  2,
));
