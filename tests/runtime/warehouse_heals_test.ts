/**
 * A full disk never needs a restart: DATA_DIR on a small tmpfs, filled until the engine fails (a checkpoint on a
 * full disk invalidates DuckDB), then freed; the next requests answer 200 from the same process. Needs root to
 * mount the tmpfs (CI runs as root): without it the test fails, it is never skipped.
 */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import type { DuckDBWarehouse } from "../../src/warehouse/duckdb.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (this test needs root): ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Writes zeros to `path` until the disk refuses (byte by byte at the end, so no block is left free). */
async function fill(path: string): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, append: true });
  for (const size of [1024 * 1024, 4096, 1]) {
    const chunk = new Uint8Array(size);
    try {
      for (;;) f.writeSync(chunk);
    } catch (e) {
      if (!String((e as Error).message).includes("No space left")) throw e;
    }
  }
}

Deno.test("after a full disk invalidated the warehouse, freeing space heals it without a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conv-tmpfs-" });
  await run("mount", ["-t", "tmpfs", "-o", "size=24M", "tmpfs", dir]);
  try {
    const h = await startHarness({ DATA_DIR: dir, SCHEDULER_ENABLED: "false" });
    const wh = h.deps.warehouse as DuckDBWarehouse;
    try {
      await h.bootstrap();
      const key = await h.onboard("acme_corp");
      const otherKey = await h.onboard("beta_corp");
      assert.equal((await h.request("GET", "/api/v1/integrations/acme_corp", { key })).status, 200);
      // Pending WAL for the checkpoint to write, then no space at all.
      await wh.execute("CREATE TABLE organizations.ballast_rows (v VARCHAR)");
      await wh.execute(
        "INSERT INTO organizations.ballast_rows SELECT md5(i::VARCHAR) || repeat('y', 200) FROM range(20000) r(i)",
      );
      await fill(`${dir}/ballast`);

      // Writes fail cleanly (503, not 500), and the checkpoint invalidates the engine, which reopens itself.
      let failedWrite = 0;
      for (let i = 0; i < 20 && wh.health.reopens === 0; i++) {
        const r = await h.request("POST", "/api/v1/organizations/onboard", {
          root: true,
          body: {
            org_slug: `gamma_${i}_corp`,
            company_name: "G",
            admin_email: "g@g.test",
            subscription_plan: "STARTER",
          },
        });
        assert.notEqual(r.status, 500, r.text);
        if (r.status === 503) failedWrite++;
        await fill(`${dir}/ballast`);
        await wh.checkpoint();
      }
      assert.ok(failedWrite > 0, "a write was refused while the disk was full");
      assert.ok(wh.health.reopens > 0, `the engine reopened after the fatal error (${JSON.stringify(wh.health)})`);
      await fill(`${dir}/ballast`);
      const degraded = await h.request("GET", "/health");
      assert.equal(degraded.status, 503, degraded.text);
      assert.equal(degraded.json.status, "degraded");

      await Deno.remove(`${dir}/ballast`);
      const health = await h.request("GET", "/health");
      assert.equal(health.status, 200, health.text);
      for (const [org, k] of [["acme_corp", key], ["beta_corp", otherKey]] as const) {
        const r = await h.request("GET", `/api/v1/integrations/${org}`, { key: k });
        assert.equal(r.status, 200, r.text);
      }
      const write = await h.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: "delta_corp", company_name: "D", admin_email: "d@d.test", subscription_plan: "STARTER" },
      });
      assert.equal(write.status, 201, write.text);
    } finally {
      await wh.close().catch(() => {});
    }
  } finally {
    await run("umount", [dir]);
    await Deno.remove(dir, { recursive: true });
  }
});
