/**
 * `deno task compile [--check]`: the compiler (compiler/main.ts: configs/ -> generated/), then the OpenAPI
 * document generated/openapi.json built from the runtime's route declarations and the fresh manifest. One process
 * and one `--check` for both; the routes are imported only after generated/ is written, so a stale manifest is
 * never documented. Importing the routes starts nothing (no warehouse, no native module).
 */
import { main as compile } from "../compiler/main.ts";

const FILE = "generated/openapi.json";

/** The document as written to disk: pretty JSON with a final newline. */
export async function openApiText(): Promise<string> {
  const { openApiDocument } = await import("./app.ts");
  return JSON.stringify(openApiDocument(), null, 2) + "\n";
}

export async function main(args: string[], root = Deno.cwd()): Promise<number> {
  const code = await compile(args, root);
  if (code !== 0) return code;
  const text = await openApiText();
  let current: string | undefined;
  try {
    current = await Deno.readTextFile(`${root}/${FILE}`);
  } catch {
    current = undefined;
  }
  if (current === text) return 0;
  if (args.includes("--check")) {
    console.error(`stale: ${FILE}\n${FILE} is out of date with the routes: run \`deno task compile\``);
    return 1;
  }
  await Deno.writeTextFile(`${root}/${FILE}`, text);
  console.log(`${FILE} written`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
