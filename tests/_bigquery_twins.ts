/**
 * Two instances (Cloud Run scaled out) on one BigQuery warehouse, for tests: one BigQuery stand-in (SQL run on
 * DuckDB, conflicting concurrent DML rejected as BigQuery does) and two `buildDeps` stacks, each with its own
 * `BigQueryWarehouse` client, executor, scheduler and Hono app, sharing one DATA_DIR (one KEK, as one KMS key would
 * be). Helpers bootstrap, onboard and set up integrations over HTTP, as a user would.
 */
import assert from "node:assert/strict";
import { createApp } from "../runtime/app.ts";
import { loadSettings } from "../runtime/config.ts";
import { Logger } from "../runtime/logger.ts";
import { buildDeps } from "../runtime/server.ts";
import type { AppDeps } from "../runtime/context.ts";
import { BigQueryWarehouse } from "../src/warehouse/bigquery.ts";
import { type StandInOptions, startBigQueryStandIn } from "./standins/bigquery_rest.ts";
import { ROOT } from "./runtime/_harness.ts";

/** A `BigQueryWarehouse` client of the stand-in at `url` (each instance has its own). */
export function bigQueryClient(url: string, projectId = "twin-project"): BigQueryWarehouse {
  return new BigQueryWarehouse({
    projectId,
    location: "US",
    apiEndpoint: url,
    authClient: { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: "Bearer twin" })) },
  });
}

/** An HTTP answer of one instance's app. */
export interface TwinAnswer {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly json: any;
}

export interface Twins {
  readonly bq: ReturnType<typeof startBigQueryStandIn>;
  /** Instance A and instance B. */
  readonly stacks: readonly [AppDeps, AppDeps];
  /** Log lines of both instances. */
  readonly logs: string[];
  /** A request to instance `i`'s app (JSON body when given). */
  call(i: 0 | 1, method: string, path: string, body: unknown, headers: Record<string, string>): Promise<TwinAnswer>;
  /** `POST /admin/bootstrap` through instance A. */
  bootstrap(): Promise<void>;
  /** Onboards `org` on `plan` through instance A; returns its API key. */
  onboard(org: string, plan: string): Promise<string>;
  /** Sets up `provider` of `org` with `credential` through instance A (asserts 200). */
  setup(org: string, key: string, provider: string, credential: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the stand-in and the two instances; `env` adds settings (e.g. provider base URLs). */
export async function startTwins(
  env: Record<string, string>,
  standIn: StandInOptions = {},
): Promise<Twins> {
  const bq = startBigQueryStandIn(standIn);
  const dataDir = await Deno.makeTempDir({ prefix: "conv-twins-" });
  const logs: string[] = [];
  const stacks: AppDeps[] = [];
  const close = async () => {
    for (const s of stacks) {
      s.scheduler.stop?.();
      await s.warehouse.close().catch(() => {});
    }
    await bq.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const { settings, problems } = loadSettings({
      DATA_DIR: dataDir,
      CA_ROOT_API_KEY: ROOT,
      RATE_LIMIT_ENABLED: "false",
      ...env,
    });
    assert.deepEqual(problems, []);
    for (let i = 0; i < 2; i++) {
      stacks.push(await buildDeps(settings, new Logger({ sink: (l) => logs.push(l) }), bigQueryClient(bq.url)));
    }
  } catch (err) {
    await close();
    throw err;
  }
  const apps = await Promise.all(stacks.map((s) => createApp(s)));
  const call: Twins["call"] = async (i, method, path, body, headers) => {
    const res = await apps[i]!.request(path, {
      method,
      headers: { ...headers, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
  };
  return {
    bq,
    stacks: stacks as [AppDeps, AppDeps],
    logs,
    call,
    async bootstrap() {
      const boot = await call(0, "POST", "/api/v1/admin/bootstrap", {}, { "X-CA-Root-Key": ROOT });
      assert.equal(boot.status, 200, JSON.stringify(boot.json));
    },
    async onboard(org, plan) {
      const r = await call(0, "POST", "/api/v1/organizations/onboard", {
        org_slug: org,
        company_name: `${org} Inc`,
        admin_email: `ops@${org.replaceAll("_", "-")}.test`,
        subscription_plan: plan,
      }, { "X-CA-Root-Key": ROOT });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json.api_key as string;
    },
    async setup(org, key, provider, credential) {
      const r = await call(0, "POST", `/api/v1/integrations/${org}/${provider}/setup`, { credential }, {
        "X-API-Key": key,
      });
      assert.equal(r.status, 200, `${provider} setup of ${org}: ${JSON.stringify(r.json)}`);
    },
    close,
  };
}
