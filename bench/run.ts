/**
 * `deno task bench`: every benchmark in one run, each printing its figures as JSON (ratios against a baseline
 * measured in the same run). Pass names to run a subset: `deno task bench api compile`.
 */
const all: Record<string, string[]> = {
  compile: ["run", "-A", "bench/compile.ts"],
  api: ["run", "-A", "bench/api.ts"],
  pipeline: ["run", "-A", "bench/pipeline.ts"],
  gcp: ["run", "-A", "bench/gcp.ts"],
  scheduler: ["run", "-A", "bench/scheduler.ts"],
  load: ["run", "-A", "bench/load.ts"],
  flood: ["run", "-A", "bench/flood.ts"],
  micro: ["bench", "-A", "bench/compile_bench.ts"],
};
const chosen = Deno.args.length ? Deno.args : Object.keys(all);
let failed = 0;
for (const name of chosen) {
  const args = all[name];
  if (!args) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(all).join(", ")}`);
    Deno.exit(2);
  }
  console.log(`\n== ${name}: deno ${args.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" }).output();
  if (code !== 0) {
    failed++;
    console.log(`== ${name} exited with ${code}`);
  }
}
Deno.exit(failed ? 1 : 0);
