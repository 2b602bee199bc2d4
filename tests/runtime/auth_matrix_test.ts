/** Every route from the generated manifest and the runtime's own table, every way of getting auth wrong. */
import assert from "node:assert/strict";
import { routes } from "../../generated/manifest.ts";
import { API_ROUTES } from "../../runtime/routes/mod.ts";
import { ROOT, startHarness } from "./_harness.ts";

const honoPath = (p: string) => p.replace(/\{([a-z_]+)\}/g, ":$1");

function fill(path: string, org: string): string {
  return path.replace("{org_slug}", org).replace("{provider}", "openai").replace("{model_id}", "gpt-4o")
    .replace("{plan_name}", "TIER1").replace("{run_id}", "some-run");
}

Deno.test("authorization matrix over every route of the manifest and the runtime", async (t) => {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const keyA = await h.onboard("org_alpha");
    const keyB = await h.onboard("org_beta");
    for (const r of routes) {
      assert.ok(h.mounted.has(`${r.method} ${honoPath(r.path)}`), `manifest route not mounted: ${r.path}`);
    }
    // Every pipeline route, plus every runtime route this build mounts (API_ROUTES documents them all).
    const all = [
      ...routes.map((r) => ({ method: r.method, path: r.path, auth: r.auth as string })),
      ...API_ROUTES.filter((r) => !routes.some((m) => m.path === r.path && m.method === r.method))
        .filter((r) => h.mounted.has(`${r.method} ${honoPath(r.path)}`))
        .map((r) => ({ method: r.method, path: r.path, auth: r.auth as string })),
    ];
    const orgRoutes = all.filter((r) =>
      (r.auth === "org" || r.auth === "root_or_org") && r.path.includes("{org_slug}")
    );
    const rootRoutes = all.filter((r) => r.auth === "root");
    assert.ok(orgRoutes.length >= 15, `expected many org routes, got ${orgRoutes.length}`);
    assert.ok(rootRoutes.length >= 3, `expected the admin routes, got ${rootRoutes.length}`);
    for (const r of orgRoutes) {
      await t.step(`${r.method} ${r.path}`, async () => {
        const path = fill(r.path, "org_alpha");
        const none = await h.request(r.method, path, { body: {} });
        assert.equal(none.status, 401, `no key: ${none.text}`);
        assert.equal(none.json.error.code, "UNAUTHORIZED");
        const unknown = await h.request(r.method, path, { key: "org_alpha_api_AAAAAAAAAAAAAAAAAAAAAAAA", body: {} });
        assert.equal(unknown.status, 401, "unknown key");
        const other = await h.request(r.method, path, { key: keyB, body: {} });
        assert.equal(other.status, 403, `other org's key: ${other.text}`);
        assert.equal(other.json.error.code, "FORBIDDEN");
        if (r.auth === "org") {
          const root = await h.request(r.method, path, { root: true, body: {} });
          assert.ok(root.status === 401 || root.status === 403, `root key on org route: ${root.status}`);
        }
      });
    }
    for (const r of rootRoutes) {
      await t.step(`${r.method} ${r.path} refuses org keys`, async () => {
        const path = fill(r.path, "org_alpha");
        const org = await h.request(r.method, path, { key: keyA, body: {} });
        assert.ok(org.status === 401 || org.status === 403, `org key on admin route: ${org.status}`);
        const none = await h.request(r.method, path, { body: {} });
        assert.equal(none.status, 401);
        const wrong = await h.request(r.method, path, { root: ROOT.slice(0, -1), body: {} });
        assert.equal(wrong.status, 401);
      });
    }
    await t.step("an org's own key is accepted on its own path", async () => {
      assert.equal((await h.request("GET", "/api/v1/integrations/org_alpha", { key: keyA })).status, 200);
    });
  } finally {
    await h.close();
  }
});
