/**
 * Plan limits across two instances on one BigQuery warehouse: two stacks, each with its own `BigQueryWarehouse`
 * client (no shared process, so no shared mutex), against the BigQuery stand-in that rejects conflicting concurrent
 * DML as BigQuery does (`dmlRunMillis`, so DML really overlaps). Four different pipelines of one org are started at
 * once over HTTP, two on each instance; the claim (`src/pipeline/quota.ts`) must accept exactly one run of a STARTER
 * org at a time and exactly 25 runs a day of a PROFESSIONAL org. Providers are the loopback stand-ins.
 */
import assert from "node:assert/strict";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { holdFirstSteps } from "./_harness.ts";
import { startTwins, type TwinAnswer, type Twins } from "../_bigquery_twins.ts";

const PIPELINES = ["openai/usage_cost", "openai/subscriptions", "anthropic/usage_cost", "deepseek/usage_cost"];
const STARTER_ORGS = ["bqq_starter_1", "bqq_starter_2", "bqq_starter_3"];
/** Races of one org alone; a sixth race runs every STARTER org at once (6 a day is STARTER's daily limit). */
const SOLO_RACES = 5;

async function setupIntegrations(twins: Twins, org: string, key: string): Promise<void> {
  await twins.setup(org, key, "openai", OPENAI_STANDIN_KEY);
  await twins.setup(org, key, "anthropic", ANTHROPIC_STANDIN_KEY);
  await twins.setup(org, key, "deepseek", DEEPSEEK_STANDIN_KEY);
}

/** "accepted", "429 <limit>", "503" (claim contended) or the unexpected answer. */
function outcome(a: TwinAnswer): string {
  if (a.status === 202) return "accepted";
  const code = a.json?.error?.code;
  if (a.status === 429 && code === "QUOTA_EXCEEDED") return `429 ${a.json.error.details.limit}`;
  if (a.status === 503 && code === "CLAIM_CONTENDED") return "503";
  return `${a.status} ${JSON.stringify(a.json)}`;
}

/** The four pipelines of `org` at once: even ones through instance A, odd ones through instance B. */
function race(twins: Twins, org: string, key: string): Promise<string[]> {
  return Promise.all(PIPELINES.map(async (p, i) => {
    const a = await twins.call(i % 2 as 0 | 1, "POST", `/api/v1/pipelines/run/${org}/${p}`, {}, { "X-API-Key": key });
    return outcome(a);
  }));
}

/** Waits until neither instance has a run in flight and none of the orgs' runs is PENDING or RUNNING. */
async function settled(twins: Twins, orgs: string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (twins.stacks.some((s) => s.executor.active > 0)) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const [row] = await twins.stacks[0].warehouse.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
       WHERE org_slug IN UNNEST(@orgs) AND status IN ('PENDING', 'RUNNING')`,
      { orgs },
    );
    if (Number(row?.n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`runs of ${orgs.join(", ")} did not finish`);
}

/** Claim transactions tried so far (each try UPDATEs the org's claim row first; a lost race tries again). */
function claimTries(twins: Twins): number {
  return twins.bq.requests.filter((r) => JSON.stringify(r.body ?? "").includes("UPDATE organizations.org_run_claims"))
    .length;
}

/** Run rows of `org` created today (UTC), counted in the warehouse. */
async function runsToday(twins: Twins, org: string): Promise<number> {
  const day = new Date().toISOString().slice(0, 10);
  const [row] = await twins.stacks[1].warehouse.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
     WHERE org_slug = @org AND created_at >= CAST(@day AS TIMESTAMP)`,
    { org, day: `${day}T00:00:00.000Z` },
  );
  return Number(row?.n ?? 0);
}

Deno.test("plan limits hold across two instances on the BigQuery stand-in, per org, across pipelines", async (t) => {
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const deepseek = startDeepSeekStandIn();
  const twins = await startTwins({
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_BASE_URL: anthropic.url,
    DEEPSEEK_BASE_URL: deepseek.url,
  }, { dmlRunMillis: 5 });
  const keys: Record<string, string> = {};
  const contended: string[] = [];
  try {
    await t.step("instance A bootstraps, onboards the orgs and sets up three integrations each", async () => {
      await twins.bootstrap();
      for (const org of STARTER_ORGS) {
        keys[org] = await twins.onboard(org, "STARTER");
        await setupIntegrations(twins, org, keys[org]);
      }
      keys.bqq_pro = await twins.onboard("bqq_pro", "PROFESSIONAL");
      await setupIntegrations(twins, "bqq_pro", keys.bqq_pro);
    });

    // The losers of a race count the winner's run: its slot (concurrent), or in the race that reaches STARTER's
    // 6 a day, the day (daily is reported before concurrent).
    const checkRace = (org: string, r: number, outcomes: string[], refusal = "429 concurrent") => {
      const accepted = outcomes.filter((o) => o === "accepted").length;
      assert.equal(accepted, 1, `${org} race ${r}: exactly one run accepted (${outcomes.join(", ")})`);
      for (const o of outcomes) {
        assert.ok(["accepted", refusal, "503"].includes(o), `${org} race ${r}: ${o}`);
      }
      if (outcomes.includes("503")) contended.push(`${org} race ${r}: ${outcomes.join(", ")}`);
    };

    await t.step(
      `four different pipelines of a STARTER org started at once, two on each instance: one 202, the rest concurrent 429s (${
        STARTER_ORGS.length * SOLO_RACES
      } races)`,
      async () => {
        const tries0 = claimTries(twins);
        for (const org of STARTER_ORGS) {
          for (let r = 1; r <= SOLO_RACES; r++) {
            const open = holdFirstSteps(twins.stacks, PIPELINES);
            let outcomes: string[];
            try {
              outcomes = await race(twins, org, keys[org]!);
            } finally {
              open();
            }
            checkRace(org, r, outcomes);
            await settled(twins, [org]);
            assert.equal(await runsToday(twins, org), r, `${org}: one run row per race`);
          }
        }
        const starts = STARTER_ORGS.length * SOLO_RACES * PIPELINES.length;
        const tries = claimTries(twins) - tries0;
        console.log(`STARTER solo races: ${starts} starts, ${tries} claim transactions (${tries - starts} retried)`);
        assert.ok(tries > starts, "the instances' claims really overlapped: some lost a race and retried");
      },
    );

    await t.step(
      "every STARTER org raced at once (their claims conflict on one table): still one 202 per org",
      async () => {
        const tries0 = claimTries(twins);
        const open = holdFirstSteps(twins.stacks, PIPELINES);
        let all: string[][];
        try {
          all = await Promise.all(STARTER_ORGS.map((org) => race(twins, org, keys[org]!)));
        } finally {
          open();
        }
        STARTER_ORGS.forEach((org, i) => checkRace(org, SOLO_RACES + 1, all[i]!, "429 daily"));
        const starts = STARTER_ORGS.length * PIPELINES.length;
        const tries = claimTries(twins) - tries0;
        console.log(`STARTER orgs at once: ${starts} starts, ${tries} claim transactions (${tries - starts} retried)`);
        await settled(twins, STARTER_ORGS);
        for (const org of STARTER_ORGS) assert.equal(await runsToday(twins, org), SOLO_RACES + 1);
        // At STARTER's daily limit now: the next start on either instance is a daily 429.
        const more = await race(twins, STARTER_ORGS[0]!, keys[STARTER_ORGS[0]!]!);
        assert.deepEqual(more, PIPELINES.map(() => "429 daily"));
      },
    );

    await t.step(
      "a PROFESSIONAL org hit with more than 25 runs across both instances gets exactly 25 in the day",
      async () => {
        // Waves of four starts, two on each instance; accepted runs are held until the wave is answered, so each
        // wave fills the 3 concurrent slots until the day's 25 are used.
        const tries0 = claimTries(twins);
        let accepted = 0;
        let attempts = 0;
        let daily = 0;
        for (let wave = 1; wave <= 12 && daily < PIPELINES.length; wave++) {
          const open = holdFirstSteps(twins.stacks, PIPELINES);
          let outcomes: string[];
          try {
            outcomes = await race(twins, "bqq_pro", keys.bqq_pro!);
          } finally {
            open();
          }
          attempts += outcomes.length;
          for (const o of outcomes) {
            assert.ok(["accepted", "429 concurrent", "429 daily", "503"].includes(o), `wave ${wave}: ${o}`);
          }
          if (outcomes.includes("503")) contended.push(`bqq_pro wave ${wave}: ${outcomes.join(", ")}`);
          const now = outcomes.filter((o) => o === "accepted").length;
          const left = 25 - accepted;
          if (!outcomes.includes("503")) {
            assert.equal(now, Math.min(3, left), `wave ${wave}: ${outcomes.join(", ")}`);
          }
          accepted += now;
          daily = outcomes.filter((o) => o === "429 daily").length;
          await settled(twins, ["bqq_pro"]);
        }
        const tries = claimTries(twins) - tries0;
        console.log(
          `PROFESSIONAL waves: ${attempts} starts, ${tries} claim transactions (${tries - attempts} retried)`,
        );
        assert.ok(attempts > 25, `more than 25 starts tried (${attempts})`);
        assert.equal(accepted, 25, "202s in the day");
        assert.equal(daily, PIPELINES.length, "the last wave was refused on the daily limit");
        assert.equal(await runsToday(twins, "bqq_pro"), 25, "run rows in the day");
        for (const i of [0, 1] as const) {
          const q = await twins.call(i, "GET", "/api/v1/organizations/bqq_pro/quota", undefined, {
            "X-API-Key": keys.bqq_pro!,
          });
          assert.equal(q.status, 200, JSON.stringify(q.json));
          assert.deepEqual(q.json.used, { today: 25, month: 25, running: 0 });
          assert.deepEqual(q.json.remaining, { today: 0, month: 725, concurrent: 3 });
        }
      },
    );

    await t.step("no claim lost its race more often than the retries allow", () => {
      if (contended.length) console.log(`CLAIM_CONTENDED answers:\n${contended.join("\n")}`);
      assert.deepEqual(contended, []);
    });
  } finally {
    await twins.close();
    await openai.close();
    await anthropic.close();
    await deepseek.close();
  }
});
