/** Compiler benchmarks: the real configs/ tree in memory, against parsing the same YAML alone as a baseline. */
import { parse } from "yaml";
import { compileSources, readConfigSources } from "../compiler/mod.ts";

const sources = await readConfigSources(new URL("../configs", import.meta.url).pathname);

Deno.bench("baseline: YAML parse of every config", { group: "compile", baseline: true }, () => {
  for (const [rel, text] of sources) if (!rel.endsWith(".csv")) parse(text);
});

Deno.bench("compile configs/ (parse, validate, emit)", { group: "compile" }, () => {
  const { diagnostics } = compileSources(sources);
  if (diagnostics.length) throw new Error("configs/ has errors");
});
