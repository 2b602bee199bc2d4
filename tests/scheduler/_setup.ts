/**
 * Scheduler test setup: the real app, executor and scheduler on a temp DuckDB with an injectable clock (both the
 * executor's plan counts and the scheduler's not_before follow it), provider stand-ins for OpenAI, Anthropic and
 * GCP, and orgs with those three integrations set up through the API.
 */
import assert from "node:assert/strict";
import { createApp } from "../../runtime/app.ts";
import { loadSettings } from "../../runtime/config.ts";
import { Logger } from "../../runtime/logger.ts";
import { buildDeps } from "../../runtime/server.ts";
import type { AppDeps } from "../../runtime/context.ts";
import { RunExecutor } from "../../src/pipeline/executor.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { pipelines } from "../../generated/manifest.ts";
import { onboardBody, requestApp, ROOT } from "../runtime/_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { fixtureLines } from "../fixtures/gcp_export.ts";
import { AppError } from "../../src/errors/mod.ts";

/**
 * A clock that runs with real time from an anchor (default: 12:00 UTC today, so a test never crosses midnight by
 * itself) and that tests move forward by hand.
 */
export class Clock {
  #offset: number;
  constructor(anchor: number = noonToday()) {
    this.#offset = anchor - Date.now();
  }
  now = (): Date => new Date(Date.now() + this.#offset);
  get t(): number {
    return Date.now() + this.#offset;
  }
  advance(ms: number): void {
    this.#offset += ms;
  }
}

function noonToday(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12);
}

export interface Rig {
  readonly deps: AppDeps;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly logs: string[];
  request(
    method: string,
    path: string,
    opts?: { key?: string; root?: boolean; body?: unknown },
    // deno-lint-ignore no-explicit-any -- response bodies are arbitrary JSON that each test inspects
  ): Promise<{ status: number; json: any; text: string }>;
  onboard(slug: string, plan?: string): Promise<string>;
  /** Sets up OpenAI, Anthropic and GCP (billing export in the org's import folder) for an org. */
  setupThree(org: string, key: string): Promise<void>;
  /** Rebuilds the app on the same files as after a restart (the scheduler is not resumed). */
  restart(opts?: { catchupDays?: number }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Today's executor throws its 429s without details; the executor of the quota work gives
 * `{limit, used, max, plan, resets_at}`. Until both are merged, this maps today's messages to that contract (a
 * 429 that already has details passes through unchanged).
 */
export function withQuotaDetails(executor: RunExecutor, now: () => Date): void {
  const start = executor.start.bind(executor);
  executor.start = async (...args) => {
    try {
      return await start(...args);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== "QUOTA_EXCEEDED" || err.details?.limit) throw err;
      const m = /(\d+) of (\d+) runs per (day|month)/.exec(err.message);
      if (!m) throw err;
      const d = now();
      const resets = m[3] === "day"
        ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
        : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      throw new AppError(err.code, err.message, {
        details: {
          limit: m[3] === "day" ? "daily" : "monthly",
          used: Number(m[1]),
          max: Number(m[2]),
          plan: "STARTER",
          resets_at: new Date(resets).toISOString(),
          retry_after_seconds: Math.ceil((resets - d.getTime()) / 1000),
        },
      });
    }
  };
}

export async function startRig(opts: { clock?: Clock; concurrency?: number; catchupDays?: number } = {}) {
  const clock = opts.clock ?? new Clock();
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const sa = await generateTestServiceAccount();
  const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });
  const dataDir = await Deno.makeTempDir({ prefix: "conv-sched-" });
  const env = {
    DATA_DIR: dataDir,
    CA_ROOT_API_KEY: ROOT,
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_BASE_URL: anthropic.url,
    GCP_TOKEN_URI: oauth.tokenUri,
    RATE_LIMIT_ENABLED: "false",
  };
  const logs: string[] = [];
  let deps!: AppDeps;
  let app!: ReturnType<typeof createApp>;
  const build = async (catchupDays = opts.catchupDays ?? 3) => {
    const { settings, problems } = loadSettings(env);
    if (problems.length) throw new Error(problems.join("; "));
    const base = await buildDeps(settings, new Logger({ sink: (l) => logs.push(l) }));
    const executor = new RunExecutor({ ...base, now: clock.now });
    withQuotaDetails(executor, clock.now);
    const { queue, reads } = base.scheduler;
    const scheduler = new Scheduler({ queue, reads, executor, logger: base.logger, pipelines }, {
      concurrency: opts.concurrency ?? 4,
      catchupDays,
      now: clock.now,
    });
    deps = { ...base, now: clock.now, executor, scheduler };
    app = createApp(deps);
  };
  await build();
  const rig: Rig = {
    get deps() {
      return deps;
    },
    clock,
    dataDir,
    logs,
    request: (method, path, o = {}) => requestApp(app, method, path, o),
    async onboard(slug, plan = "STARTER") {
      const r = await rig.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: onboardBody(slug, plan),
      });
      assert.equal(r.status, 201, r.text);
      return r.json.api_key;
    },
    async setupThree(org, key) {
      const today = new Date(clock.t).toISOString().slice(0, 10);
      await Deno.mkdir(`${dataDir}/imports/${org}`, { recursive: true });
      const day = (n: number) => new Date(Date.parse(today) + n * 86_400_000).toISOString().slice(0, 10);
      const lines = await fixtureLines([day(-4), day(-3), day(-2), day(-1), day(0)]);
      await Deno.writeTextFile(`${dataDir}/imports/${org}/export.jsonl`, lines.join("\n"));
      const bodies = {
        openai: { credential: OPENAI_STANDIN_KEY },
        anthropic: { credential: ANTHROPIC_STANDIN_KEY },
        gcp: { credential: sa.json, billing_export_table: "export.jsonl" },
      };
      for (const [provider, body] of Object.entries(bodies)) {
        const r = await rig.request("POST", `/api/v1/integrations/${org}/${provider}/setup`, { key, body });
        assert.equal(r.status, 200, `${provider} setup: ${r.text}`);
      }
    },
    async restart(o = {}) {
      deps.scheduler.stop();
      await deps.executor.drain();
      await deps.warehouse.close();
      await build(o.catchupDays);
    },
    async close() {
      deps.scheduler.stop();
      await deps.executor.drain().catch(() => {});
      await deps.warehouse.close().catch(() => {});
      await Promise.all([openai.close(), anthropic.close(), oauth.close()]);
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
  const r = await rig.request("POST", "/api/v1/admin/bootstrap", { root: true, body: {} });
  assert.equal(r.status, 200, r.text);
  return { rig, openai, anthropic };
}

/** The org's queue items as the API lists them. */
export async function items(rig: Rig, org: string, key: string, query = "") {
  const r = await rig.request("GET", `/api/v1/pipelines/backfill/${org}?limit=500${query}`, { key });
  assert.equal(r.status, 200, r.text);
  return r.json.items as {
    queue_id: string;
    pipeline: string;
    logical_date: string;
    start_date: string;
    end_date: string;
    status: string;
    attempts: number;
    last_error: string | null;
    run_id: string | null;
    not_before: string;
  }[];
}
