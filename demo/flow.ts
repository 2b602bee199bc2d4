/**
 * The demo's flow as a function: the product on the embedded default with the provider simulators (the test
 * stand-ins, tests/standins/) on loopback; onboards a demo org, sets up all four integrations, runs each pipeline
 * for the last days and reads the reconciliation of those days. `deno task demo` (demo/main.ts) prints it; the
 * demo test (tests/demo/demo_test.ts) runs it on a temporary directory and checks the reconciliation explains
 * every gap. The product itself only ever sees the simulators' base URLs, as it would see the real providers'.
 */
import { startServer } from "../runtime/server.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../tests/standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../tests/standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../tests/standins/deepseek.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../tests/standins/gcp_oauth.ts";
import { demoBillingExport } from "./billing_export.ts";
import { addDays, dayOf, isoDay } from "../src/time/day.ts";

/** The demo org's slug. */
export const DEMO_ORG = "demo_org";

/** A call's outcome: HTTP status and parsed JSON body (`{}` when the body is not JSON). */
export interface CallResult {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** One line of what the demo did (an integration set up, a pipeline run). */
export interface DemoStep {
  readonly what: string;
  readonly outcome: string;
  /** The API error's code and message, or a failed run's error; "" when fine. */
  readonly failure: string;
}

/** A running demo: the server, the keys, what was done, and how to stop it all. */
export interface Demo {
  readonly url: string;
  readonly rootKey: string;
  readonly orgKey: string;
  readonly steps: readonly DemoStep[];
  /** The first and last day the pipelines ran for. */
  readonly start: string;
  readonly end: string;
  /** An API call with the org key. */
  call(method: string, path: string, body?: unknown): Promise<CallResult>;
  close(): Promise<void>;
}

/** What went wrong with a call, readably: the API error's code and message, or a failed run's error; "" when fine. */
export function failure(r: CallResult): string {
  const e = r.json.error;
  if (e && typeof e === "object") {
    const { code, message } = e as { code?: string; message?: string };
    return `${code ?? "ERROR"}: ${message ?? ""}`;
  }
  return typeof e === "string" ? e : "";
}

/**
 * Starts the simulators and the product, onboards the demo org (or rotates its key when it exists), sets up every
 * integration and runs every pipeline for the 7 days before `today`.
 */
export async function startDemo(
  opts: { dataDir: string; port: string; logLevel?: string; today?: Date },
): Promise<Demo> {
  const today = opts.today ?? new Date();
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const deepseek = startDeepSeekStandIn({ drainFrom: "2025-01-01" });
  const sa = await generateTestServiceAccount({ projectId: "demo-project" });
  const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });
  await Deno.mkdir(`${opts.dataDir}/imports/${DEMO_ORG}`, { recursive: true });
  await Deno.writeTextFile(`${opts.dataDir}/imports/${DEMO_ORG}/demo_billing.jsonl`, demoBillingExport(today, 14));

  const server = await startServer({
    ...Deno.env.toObject(),
    ENVIRONMENT: "development",
    PORT: opts.port,
    DATA_DIR: opts.dataDir,
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_BASE_URL: anthropic.url,
    DEEPSEEK_BASE_URL: deepseek.url,
    GCP_TOKEN_URI: oauth.tokenUri,
    SCHEDULER_ENABLED: "false",
    LOG_LEVEL: opts.logLevel ?? "warn",
  });
  const rootKey = server.deps.rootKey;
  const request = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch { /* not JSON (e.g. CSV): the status says enough */ }
    return { status: res.status, json };
  };
  const root = { "X-CA-Root-Key": rootKey };
  await request("POST", "/api/v1/admin/bootstrap", root, {});
  const onboard = await request("POST", "/api/v1/organizations/onboard", root, {
    org_slug: DEMO_ORG,
    company_name: "Demo Org",
    admin_email: "ops@demo.example",
    subscription_plan: "SCALE",
  });
  const orgKey = String(
    onboard.status === 201
      ? onboard.json.api_key
      : (await request("POST", `/api/v1/organizations/${DEMO_ORG}/api-key/rotate`, root, {})).json.api_key,
  );
  const call = (method: string, path: string, body?: unknown) => request(method, path, { "X-API-Key": orgKey }, body);

  const steps: DemoStep[] = [];
  const setups: [string, unknown][] = [
    ["openai", { credential: OPENAI_STANDIN_KEY, credential_name: "Demo admin key" }],
    ["anthropic", { credential: ANTHROPIC_STANDIN_KEY }],
    ["deepseek", { credential: DEEPSEEK_STANDIN_KEY }],
    ["gcp", { credential: sa.json, billing_export_table: "demo_billing.jsonl" }],
  ];
  for (const [provider, body] of setups) {
    const r = await call("POST", `/api/v1/integrations/${DEMO_ORG}/${provider}/setup`, body);
    steps.push({
      what: `integration ${provider}`,
      outcome: String(r.json.validation_status ?? r.status),
      failure: failure(r),
    });
  }
  const day = (offset: number) => isoDay(addDays(dayOf(today), offset));
  const start = day(-7);
  const end = day(-1);
  const runs: [string, unknown][] = [
    ["openai/usage_cost", { start_date: start, end_date: end }],
    ["anthropic/usage_cost", { start_date: start, end_date: end }],
    ["gcp/billing", { start_date: start, end_date: end }],
    // DeepSeek has no usage API: a run snapshots the balance now; spend is the drop between two snapshots.
    ["deepseek/usage_cost", { date: end }],
  ];
  for (const [path, body] of runs) {
    const r = await call("POST", `/api/v1/pipelines/run/${DEMO_ORG}/${path}?wait=true`, body);
    const outcome = r.status === 200 ? `${r.json.status} ${r.json.rows_written ?? 0} rows` : `HTTP ${r.status}`;
    steps.push({ what: `run ${path}`, outcome, failure: failure(r) });
  }
  return {
    url: server.url,
    rootKey,
    orgKey,
    steps,
    start,
    end,
    call,
    close: async () => {
      await server.shutdown();
      await Promise.all([openai.close(), anthropic.close(), deepseek.close(), oauth.close()]);
    },
  };
}

/** A reconciliation response as the demo reads it (GET /costs/{org}/reconciliation). */
interface ReconciliationJson {
  rows: {
    provider: string;
    day: string;
    currency: string;
    difference: string | null;
    status: string;
    reasons: { code: string; message: string; models?: string[] }[];
    models: { model: string; difference: string | null; status: string; reasons: { message: string }[] }[];
  }[];
  totals: {
    provider: string;
    currency: string;
    list_cost: string | null;
    billed_cost: string | null;
    status: string;
  }[];
}

/** A match is to the cent; any other gap is explained when it has a reason (its day's, naming it, for a model). */
const unexplained = (
  g: { status: string; difference: string | null; reasons: readonly unknown[] },
  dayReasons: readonly { models?: readonly string[] }[] = [],
  model?: string,
) =>
  g.status === "MATCHED"
    ? Math.abs(Number(g.difference ?? 0)) >= 0.005
    : g.reasons.length === 0 && !dayReasons.some((r) => model !== undefined && r.models?.includes(model));

/**
 * The reconciliation's days and models whose gap nothing explains: matched but not to the cent, or not matched
 * and without a reason. Empty when the demo's numbers agree.
 */
export function unexplainedGaps(rec: ReconciliationJson): string[] {
  return rec.rows.flatMap((r) => [
    ...(unexplained(r) ? [`${r.provider} ${r.day}: ${r.status}, difference ${r.difference}`] : []),
    ...r.models.filter((m) => unexplained(m, r.reasons, m.model)).map((m) =>
      `${r.provider} ${r.day} ${m.model}: ${m.status}, difference ${m.difference}`
    ),
  ]);
}

/** The reconciliation as lines to print: each provider's totals, then every gap with its reasons. */
export function reconciliationLines(rec: ReconciliationJson): string[] {
  const lines = rec.totals.map((t) =>
    `${t.provider.padEnd(10)} list ${t.list_cost ?? "-"} billed ${t.billed_cost ?? "-"} ${t.currency}: ${t.status}`
  );
  for (const r of rec.rows) {
    const why = r.reasons.filter((x) => x.code !== "NOT_FINAL").map((x) => x.message);
    if (why.length) lines.push(`  ${r.provider} ${r.day}: ${r.status}: ${why.join("; ")}`);
  }
  return [...lines, ...unexplainedGaps(rec).map((g) => `  UNEXPLAINED ${g}`)];
}

/** The reconciliation of the demo days. @throws {Error} when the API refuses it */
export async function demoReconciliation(demo: Demo): Promise<ReconciliationJson> {
  const r = await demo.call("GET", `/api/v1/costs/${DEMO_ORG}/reconciliation?start=${demo.start}&end=${demo.end}`);
  if (r.status !== 200) throw new Error(`Reconciliation failed: HTTP ${r.status} ${failure(r)}`);
  return r.json as unknown as ReconciliationJson;
}
