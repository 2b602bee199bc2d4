/**
 * Rotating the root key without downtime: with CA_ROOT_API_KEY_PREVIOUS set, the new and the previous key both
 * work (Cloud Scheduler can switch while old and new revisions serve); once it is removed, only the new one does.
 * In production the previous key must be as long as a root key and differ from the new one.
 */
import assert from "node:assert/strict";
import { loadSettings } from "../../runtime/config.ts";
import { ROOT, startHarness } from "./_harness.ts";

const PREVIOUS = "previous-root-key-abcdefghijklmnopqrstuvwxyz";

Deno.test("the previous root key works beside the new one during a rotation, and not after", async () => {
  const h = await startHarness({ CA_ROOT_API_KEY_PREVIOUS: PREVIOUS });
  const dataDir = h.deps.settings.dataDir;
  try {
    for (const key of [ROOT, PREVIOUS]) {
      const r = await h.request("POST", "/api/v1/admin/bootstrap", { root: key, body: {} });
      assert.equal(r.status, 200, `${key === ROOT ? "new" : "previous"} key: ${JSON.stringify(r.json)}`);
    }
    const wrong = await h.request("POST", "/api/v1/admin/bootstrap", { root: `${PREVIOUS}x`, body: {} });
    assert.equal(wrong.status, 401);
  } finally {
    await h.close();
  }
  const after = await startHarness({ DATA_DIR: dataDir });
  try {
    const old = await after.request("POST", "/api/v1/admin/bootstrap", { root: PREVIOUS, body: {} });
    assert.equal(old.status, 401, "the rotated-out key stops working once removed");
    const current = await after.request("POST", "/api/v1/admin/bootstrap", { root: ROOT, body: {} });
    assert.equal(current.status, 200);
  } finally {
    await after.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("production refuses a previous root key that is short or equal to the new one, naming it", () => {
  const prod = {
    ENVIRONMENT: "production",
    CA_ROOT_API_KEY: "p".repeat(40),
    WAREHOUSE: "bigquery",
    GCP_PROJECT_ID: "proj",
    KMS_KEY_NAME: "projects/p/locations/l/keyRings/r/cryptoKeys/k",
  };
  assert.deepEqual(loadSettings({ ...prod, CA_ROOT_API_KEY_PREVIOUS: "q".repeat(40) }).problems, []);
  assert.deepEqual(loadSettings({ ...prod, CA_ROOT_API_KEY_PREVIOUS: "short" }).problems, [
    "CA_ROOT_API_KEY_PREVIOUS must be at least 32 characters in production",
  ]);
  assert.deepEqual(loadSettings({ ...prod, CA_ROOT_API_KEY_PREVIOUS: "p".repeat(40) }).problems, [
    "CA_ROOT_API_KEY_PREVIOUS must differ from CA_ROOT_API_KEY",
  ]);
});
