/**
 * Concurrent price writes: one version per price. Two POSTs of a new model race (one 201, one 409), two writers
 * that share the warehouse but not a process (no common mutex) still serialise on the lock row, a held lock ends
 * in 409 WRITE_CONFLICT, concurrent PUTs and mixed writes never leave overlapping versions, and concurrent first
 * setups seed the defaults once.
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { PriceStore } from "../../src/central/prices.ts";
import { PriceBook } from "../../src/processors/_cost.ts";
import { normaliseDecimal, overlaps } from "../../src/pricing/mod.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import { findAppError } from "../../src/errors/mod.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type Harness, startHarness } from "./_harness.ts";
import { raceNewVersion } from "./_price_race.ts";

const ORG = "race_org";
const url = (provider = "openai", rest = "") => `/api/v1/integrations/${ORG}/${provider}/pricing${rest}`;
const today = () => new Date().toISOString().slice(0, 10);

function seedRows(provider: string): readonly Record<string, unknown>[] {
  const p = (pipelines as Record<string, PipelineModule>)[`integrations/${provider}/setup`]!;
  return p.steps.find((s) => s.psType === "integrations.seed" && s.seed?.table === "org_model_pricing")!.seed!.rows;
}

async function withOrg(fn: (h: Harness, key: string) => Promise<void>, env: Record<string, string> = {}) {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false", ...env });
  try {
    await h.bootstrap();
    await fn(h, await h.onboard(ORG, "SCALE"));
  } finally {
    await h.close();
  }
}

interface Version {
  model_id: string;
  effective_from: string;
  effective_to: string | null;
  input_per_1m: string;
}

const versionsOf = (h: Harness, provider: string, model?: string) =>
  h.deps.warehouse.query<Version>(
    `SELECT model_id, effective_from, effective_to, input_per_1m FROM organizations.org_model_pricing
     WHERE org_slug = @org AND provider = @provider AND (@model IS NULL OR model_id = @model)
     ORDER BY model_id, effective_from`,
    { org: ORG, provider, model: model ?? null },
  );

/** Every pair of versions of one model that share a day (or start the same day). */
function overlapping(rows: readonly Version[]): [Version, Version][] {
  const out: [Version, Version][] = [];
  rows.forEach((a, i) =>
    rows.slice(i + 1).forEach((b) => {
      if (a.model_id === b.model_id && overlaps(a, b)) out.push([a, b]);
    })
  );
  return out;
}

/** The same warehouse seen as another process would: a distinct object, so no in-process mutex is shared. */
function asOtherProcess(wh: Warehouse, conflicts: { n: number }): Warehouse {
  return {
    kind: wh.kind,
    ping: () => wh.ping(),
    datasetExists: (d) => wh.datasetExists(d),
    ensureDataset: (d) => wh.ensureDataset(d),
    dropDataset: (d) => wh.dropDataset(d),
    tableExists: (d, t) => wh.tableExists(d, t),
    ensureTable: (d, s) => wh.ensureTable(d, s),
    insertRows: (d, s, r) => wh.insertRows(d, s, r),
    replacePartitions: (d, s, r, rows) => wh.replacePartitions(d, s, r, rows),
    replacePartitionsWith: (d, s, r, q, v) => wh.replacePartitionsWith(d, s, r, q, v),
    query: (sql, p) => wh.query(sql, p),
    queryPages: (sql, p, n) => wh.queryPages(sql, p, n),
    execute: (sql, p) => wh.execute(sql, p),
    transaction: async (fn) => {
      try {
        return await wh.transaction(fn);
      } catch (e) {
        if (findAppError(e)?.code === "WRITE_CONFLICT") conflicts.n++;
        throw e;
      }
    },
    close: () => Promise.resolve(),
  };
}

Deno.test("two concurrent POSTs of a new model answer one 201 and one 409, and costs use the winner (20 races)", async () => {
  await withOrg(async (h, key) => {
    for (let i = 0; i < 20; i++) {
      const model_id = `race-model-${i}`;
      const post = (input: string) =>
        h.request("POST", url(), { key, body: { model_id, input_per_1m: input, output_per_1m: "1" } });
      const [a, b] = await Promise.all([post("1.5"), post("2.5")]);
      assert.deepEqual([a.status, b.status].sort(), [201, 409], `race ${i}: ${a.text} / ${b.text}`);
      const [winner, loser] = a.status === 201 ? [a, b] : [b, a];
      assert.equal(loser.json.error.code, "PRICE_EXISTS", loser.text);
      assert.match(loser.json.error.message, new RegExp(`Model "${model_id}" of openai already has a version`));
      const rows = await versionsOf(h, "openai", model_id);
      assert.equal(rows.length, 1, `race ${i}: one version, got ${JSON.stringify(rows)}`);
      assert.equal(normaliseDecimal(rows[0]!.input_per_1m), winner.json.input_per_1m, "the row is the 201's");

      const day = today();
      const prices = await h.deps.stores.prices.pricesInForce(ORG, "openai", { from: day, to: day });
      assert.equal(prices.filter((p) => p.model_id === model_id).length, 1, "the cost step loads one version");
      const used = new PriceBook(prices).find(`${model_id}-2025-01-01`, day);
      assert.equal(used?.input_per_1m, rows[0]!.input_per_1m, "the snapshot id is priced with the winner");
      const put = await h.request("PUT", url("openai", `/${model_id}`), { key, body: { notes: "after the race" } });
      assert.equal(put.status, 200, `a PUT after the race works: ${put.text}`);
    }
  });
});

Deno.test("two processes on one warehouse (no shared mutex) never write two versions of one model", async () => {
  await withOrg(async (h) => {
    const conflicts = { n: 0 };
    const other = asOtherProcess(h.deps.warehouse, conflicts);
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const key = { provider: "anthropic", model_id: `two-proc-${i}` };
      const lost = await raceNewVersion(h.deps.warehouse, other, ORG, key, `race ${i}`);
      assert.ok(["PRICE_EXISTS", "WRITE_CONFLICT"].includes(lost.code), lost.code);
      refused++;
      assert.equal((await versionsOf(h, "anthropic", key.model_id)).length, 1, `race ${i}`);
    }
    assert.equal(refused, 20);
    console.log(`lost races that hit the warehouse conflict path: ${conflicts.n}`);
  });
});

Deno.test("a POST that keeps losing to a held writer lock answers 409 WRITE_CONFLICT and writes nothing", async () => {
  await withOrg(async (h, key) => {
    const body = (model_id: string) => ({ model_id, input_per_1m: "1", output_per_1m: "1" });
    assert.equal((await h.request("POST", url("anthropic"), { key, body: body("first") })).status, 201);
    let blocked!: Awaited<ReturnType<Harness["request"]>>;
    await h.deps.warehouse.transaction(async (tx) => {
      const n = await tx.execute(
        `UPDATE organizations.org_reference_locks SET version = version + 1
         WHERE org_slug = @org AND scope = 'org_model_pricing/anthropic'`,
        { org: ORG },
      );
      assert.equal(n, 1, "the first write created the lock row");
      blocked = await h.request("POST", url("anthropic"), { key, body: body("blocked") });
    });
    assert.equal(blocked.status, 409, blocked.text);
    assert.equal(blocked.json.error.code, "WRITE_CONFLICT");
    assert.match(blocked.json.error.message, /org_model_pricing\/anthropic of org "race_org" kept changing/);
    assert.equal((await versionsOf(h, "anthropic", "blocked")).length, 0);
    const openai = await h.request("POST", url("openai"), { key, body: body("blocked") });
    assert.equal(openai.status, 201, "another provider's lock was never held");
    const after = await h.request("POST", url("anthropic"), { key, body: body("blocked") });
    assert.equal(after.status, 201, `once released the same POST succeeds: ${after.text}`);
  });
});

Deno.test("concurrent PUTs, POSTs, DELETEs and resets of one provider never leave overlapping versions", async () => {
  await withOrg(async (h, key) => {
    assert.equal((await h.request("POST", url("openai", "/reset"), { key })).status, 200);
    for (let round = 0; round < 5; round++) {
      const writes = [
        ...["2025-07-01", "2025-08-01", "2025-09-01", "2026-01-01"].map((effective_from, i) =>
          h.request("PUT", url("openai", "/gpt-4o"), { key, body: { effective_from, input_per_1m: `${i + 1}` } })
        ),
        ...["2025-10-01", "2025-11-01"].map((effective_from) =>
          h.request("POST", url(), {
            key,
            body: { model_id: "gpt-4o", input_per_1m: 7, output_per_1m: 7, effective_from },
          })
        ),
        h.request("PUT", url("openai", "/gpt-4o"), { key, body: { effective_to: "2027-01-01" } }),
        round % 2
          ? h.request("DELETE", url("openai", "/gpt-4o"), { key })
          : h.request("POST", url("openai", "/reset"), { key }),
        h.request("POST", url(), { key, body: { model_id: "new-m", input_per_1m: 1, output_per_1m: 1 } }),
      ];
      for (const r of await Promise.all(writes)) {
        assert.ok([200, 201, 404, 409].includes(r.status), `${r.status} ${r.text}`);
        if (r.status === 409) assert.match(r.json.error.code, /^PRICE_(OVERLAP|EXISTS)$|^WRITE_CONFLICT$/);
      }
      const rows = await versionsOf(h, "openai");
      assert.deepEqual(overlapping(rows), [], `round ${round}`);
      const open = rows.filter((r) => r.model_id === "gpt-4o" && r.effective_to === null);
      assert.ok(open.length <= 1, `round ${round}: at most one open gpt-4o version`);
      await h.request("DELETE", url("openai", "/new-m"), { key });
    }
  });
});

Deno.test("eight concurrent first seeds of one provider, from two processes, load the defaults once", async () => {
  await withOrg(async (h) => {
    const other = new PriceStore(asOtherProcess(h.deps.warehouse, { n: 0 }), pipelines["setup/bootstrap"].tables);
    const now = new Date();
    const results = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) =>
          (i % 2 ? other : h.deps.stores.prices).seedPricing(ORG, "anthropic", seedRows("anthropic"), now, {
            onlyIfEmpty: true,
          }),
      ),
    );
    assert.equal(results.filter((r) => !r.skipped).length, 1, JSON.stringify(results));
    assert.equal(results.reduce((n, r) => n + r.inserted, 0), seedRows("anthropic").length);
    const rows = await versionsOf(h, "anthropic");
    assert.equal(rows.length, seedRows("anthropic").length);
    assert.deepEqual(overlapping(rows), []);
  });
});

Deno.test("N concurrent first-time setups of one provider seed the default prices exactly once (4 orgs)", async () => {
  const standIn = startAnthropicStandIn();
  try {
    await withOrg(async (h) => {
      const expected = new Map<string, number>();
      for (const r of seedRows("anthropic")) {
        expected.set(String(r.model_id), (expected.get(String(r.model_id)) ?? 0) + 1);
      }
      for (let round = 0; round < 4; round++) {
        const org = `setup_race_${round}`;
        const key = await h.onboard(org, "SCALE");
        const setups = await Promise.all(
          Array.from({ length: 5 }, () =>
            h.request("POST", `/api/v1/integrations/${org}/anthropic/setup`, {
              key,
              body: { credential: ANTHROPIC_STANDIN_KEY },
            })),
        );
        // The credential row itself is another writer's race (a setup may lose it with 409 WRITE_CONFLICT).
        for (const s of setups) assert.ok(s.status === 200 || s.json?.error?.code === "WRITE_CONFLICT", s.text);
        assert.ok(setups.some((s) => s.status === 200), `${org}: a setup succeeded`);
        const rows = await h.deps.warehouse.query<{ model_id: string; n: number }>(
          `SELECT model_id, COUNT(*) AS n FROM organizations.org_model_pricing
           WHERE org_slug = @org AND provider = 'anthropic' GROUP BY model_id ORDER BY model_id`,
          { org },
        );
        assert.deepEqual(
          rows.map((r) => [r.model_id, Number(r.n)]),
          [...expected].sort(),
          `${org}: rows per model as in the seed, once`,
        );
      }
    }, { ANTHROPIC_BASE_URL: standIn.url });
  } finally {
    await standIn.close();
  }
});
