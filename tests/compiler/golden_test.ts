import assert from "node:assert/strict";
import { compileSources, readConfigSources } from "../../compiler/mod.ts";
import { main } from "../../compiler/main.ts";
import { resolveParams } from "../../src/pipeline/run_sync.ts";
import { DayError } from "../../src/time/day.ts";

const here = new URL(".", import.meta.url).pathname;
const FIXTURE = `${here}fixtures/basic`;
const GOLDEN = `${here}golden`;

Deno.test("compile() emits exactly the golden files for the fixture pipelines", async () => {
  const { diagnostics, files } = compileSources(await readConfigSources(FIXTURE));
  assert.deepEqual(diagnostics, []);
  const update = Deno.env.get("UPDATE_GOLDEN") === "1";
  if (update) await Deno.mkdir(GOLDEN, { recursive: true });
  for (const [path, text] of files) {
    const golden = `${GOLDEN}/${path.replaceAll("/", "__")}.golden`;
    if (update) await Deno.writeTextFile(golden, text);
    assert.equal(text, await Deno.readTextFile(golden), `${path} differs from ${golden} (UPDATE_GOLDEN=1 rewrites it)`);
  }
  const goldens = [...Deno.readDirSync(GOLDEN)].map((e) => e.name).sort();
  assert.deepEqual(goldens, [...files.keys()].map((p) => `${p.replaceAll("/", "__")}.golden`).sort());
});

Deno.test("the golden pipeline module type-checks and its params schema behaves", async () => {
  const dir = await Deno.makeTempDir({ dir: `${here}../..`, prefix: ".golden_check_" });
  try {
    const { files } = compileSources(await readConfigSources(FIXTURE));
    for (const [path, text] of files) {
      await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      // Generated modules import ../src relative to the repo root: mirror that depth under the temp dir.
      await Deno.writeTextFile(`${dir}/${path}`, text.replace(/"((?:\.\.\/)+)src\//g, '"../$1src/'));
    }
    const mod = await import(`${dir}/generated/pipelines/demo/usage_cost.ts`);
    assert.equal(mod.pipeline.path, "demo/usage_cost");
    assert.deepEqual(mod.pipeline.steps.map((s: { id: string }) => s.id), ["extract_usage", "transform_cost"]);
    assert.equal(mod.paramsSchema.safeParse({ start_date: "2025-01-02" }).success, true);
    // The schema takes a date as a string; resolveParams checks it (one place: src/time/day.ts).
    const now = new Date("2025-06-01T12:00:00Z");
    assert.throws(
      () => resolveParams(mod.pipeline, { start_date: "2025-13-02" }, now),
      (e) => e instanceof DayError && e.field === "start_date",
    );
    assert.deepEqual(resolveParams(mod.pipeline, { date: "2025-01-02" }, now), {
      start_date: "2025-01-02",
      end_date: "2025-01-02",
    });
    assert.equal(mod.paramsSchema.safeParse({ label: "UPPER" }).success, false);
    assert.equal(mod.paramsSchema.safeParse({ is_admin: true }).success, false, "unknown fields are rejected");
    const check = new Deno.Command(Deno.execPath(), {
      args: ["check", `${dir}/generated/manifest.ts`],
      stderr: "piped",
    });
    const out = await check.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile --check fails on a stale or extra generated file and passes after compile", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const [rel, text] of await readConfigSources(FIXTURE)) {
      await Deno.mkdir(`${root}/configs/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}/configs/${rel}`, text);
    }
    const quiet = { log: console.log, error: console.error };
    console.log = console.error = () => {};
    try {
      assert.equal(await main(["--check"], root), 1, "nothing generated yet");
      assert.equal(await main([], root), 0);
      assert.equal(await main(["--check"], root), 0);
      await Deno.writeTextFile(`${root}/generated/manifest.ts`, "// edited\n", { append: true });
      assert.equal(await main(["--check"], root), 1, "an edited file is stale");
      assert.equal(await main([], root), 0);
      await Deno.writeTextFile(`${root}/generated/pipelines/old.ts`, "export {};\n");
      assert.equal(await main(["--check"], root), 1, "a file no config produces is stale");
      assert.equal(await main([], root), 0);
      assert.equal(await main(["--check"], root), 0);
      await Deno.writeTextFile(`${root}/configs/demo/usage_cost.yml`, "id: [\n");
      assert.equal(await main([], root), 1, "a config error fails the compile");
      assert.equal(await main(["--bogus"], root), 2);
    } finally {
      Object.assign(console, quiet);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
