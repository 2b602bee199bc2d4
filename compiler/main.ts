/**
 * `deno task compile [--check]`: validates configs/ and regenerates generated/.
 * With --check, writes nothing and exits 1 when generated/ differs from what the configs produce.
 */
import { compileDir } from "./compile.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import { diffGenerated, writeGenerated } from "./write.ts";

export async function main(args: string[], root = Deno.cwd()): Promise<number> {
  const check = args.includes("--check");
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length) {
    console.error(`Unknown argument ${unknown.map((a) => `"${a}"`).join(", ")}; usage: compile [--check]`);
    return 2;
  }
  const t0 = performance.now();
  const result = await compileDir(root);
  if (result.diagnostics.length) {
    for (const d of result.diagnostics) console.error(formatDiagnostic(d));
    console.error(`${result.diagnostics.length} problem${result.diagnostics.length === 1 ? "" : "s"} in configs/`);
    return 1;
  }
  const ms = (performance.now() - t0).toFixed(0);
  if (check) {
    const stale = await diffGenerated(root, result.files);
    if (stale.length) {
      for (const f of stale) console.error(`stale: ${f}`);
      console.error(`generated/ is out of date with configs/: run \`deno task compile\``);
      return 1;
    }
    console.log(`generated/ is up to date (${result.program.pipelines.length} pipelines, ${ms} ms)`);
    return 0;
  }
  const changed = await writeGenerated(root, result.files);
  console.log(`compiled ${result.program.pipelines.length} pipelines in ${ms} ms; ${changed.length} file(s) changed`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
