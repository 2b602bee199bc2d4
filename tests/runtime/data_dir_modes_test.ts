/** Everything under DATA_DIR is the service user's alone: files 0600, folders 0700, the warehouse's WAL included. */
import assert from "node:assert/strict";
import process from "node:process";
import { join } from "node:path";
import { startHarness } from "./_harness.ts";

async function modes(dir: string): Promise<Map<string, { mode: number; isDir: boolean }>> {
  const out = new Map<string, { mode: number; isDir: boolean }>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const info = await Deno.lstat(p);
      out.set(p.slice(dir.length + 1), { mode: info.mode! & 0o777, isDir: info.isDirectory });
      if (info.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

Deno.test("the server creates files 0600 and folders 0700 under DATA_DIR and tightens older ones", async () => {
  const previous = process.umask(0o022); // a usual shell umask, as an operator's would be
  const dataDir = await Deno.makeTempDir({ prefix: "conv-modes-" });
  try {
    // An install from before: imports/ 0755 with an export file 0644.
    await Deno.mkdir(join(dataDir, "imports", "acme_corp"), { recursive: true, mode: 0o755 });
    await Deno.chmod(join(dataDir, "imports"), 0o755);
    await Deno.writeTextFile(join(dataDir, "imports", "acme_corp", "export.jsonl"), "{}\n", { mode: 0o644 });
    await Deno.chmod(dataDir, 0o755);
    const h = await startHarness({ DATA_DIR: dataDir });
    try {
      await h.bootstrap();
      await h.onboard("acme_corp");
      const found = await modes(dataDir);
      for (const name of ["warehouse.duckdb", "warehouse.duckdb.wal", "kek.key", "imports", "imports/acme_corp"]) {
        assert.ok(found.has(name), `${name} exists (found ${[...found.keys()].join(", ")})`);
      }
      for (const [name, { mode, isDir }] of found) {
        assert.equal(mode.toString(8), (isDir ? 0o700 : 0o600).toString(8), `${name} mode`);
      }
      assert.equal(((await Deno.stat(dataDir)).mode! & 0o777).toString(8), "700", "DATA_DIR itself");
    } finally {
      await h.deps.warehouse.close();
    }
  } finally {
    process.umask(previous);
    await Deno.remove(dataDir, { recursive: true });
  }
});
