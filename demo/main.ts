/**
 * `deno task demo`: the product on the embedded default with built-in provider simulators on loopback, for
 * people without provider accounts. The simulators are the test stand-ins (tests/standins/), started here
 * in this separate entry point: the product itself only ever sees their base URLs, as it would see the real
 * providers'. Onboards a demo org, sets up all four integrations, runs each pipeline for the last days and
 * prints what to call next.
 */
import { startServer } from "../runtime/server.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../tests/standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../tests/standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../tests/standins/deepseek.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../tests/standins/gcp_oauth.ts";
import { demoBillingExport } from "./billing_export.ts";
import { addDays, dayOf, isoDay } from "../src/time/day.ts";

const ORG = "demo_org";
const dataDir = Deno.env.get("DEMO_DATA_DIR") ?? "./data-demo";
const port = Deno.env.get("PORT") ?? "8000";

const openai = startOpenAIStandIn();
const anthropic = startAnthropicStandIn();
const deepseek = startDeepSeekStandIn({ drainFrom: "2025-01-01" });
const sa = await generateTestServiceAccount({ projectId: "demo-project" });
const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });

await Deno.mkdir(`${dataDir}/imports/${ORG}`, { recursive: true });
const today = new Date();
await Deno.writeTextFile(`${dataDir}/imports/${ORG}/demo_billing.jsonl`, demoBillingExport(today, 14));

const server = await startServer({
  ...Deno.env.toObject(),
  ENVIRONMENT: "development",
  PORT: port,
  DATA_DIR: dataDir,
  OPENAI_BASE_URL: openai.baseUrl,
  ANTHROPIC_BASE_URL: anthropic.url,
  DEEPSEEK_BASE_URL: deepseek.url,
  GCP_TOKEN_URI: oauth.tokenUri,
  SCHEDULER_ENABLED: "false",
  LOG_LEVEL: Deno.env.get("LOG_LEVEL") ?? "warn",
});
const root = server.deps.rootKey;

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json };
}

/** What went wrong with a call, readably: the API error's code and message, or a failed run's error; "" when fine. */
function failure(r: { status: number; json: Record<string, unknown> }): string {
  const e = r.json.error;
  if (e && typeof e === "object") {
    const { code, message } = e as { code?: string; message?: string };
    return `${code ?? "ERROR"}: ${message ?? ""}`;
  }
  return typeof e === "string" ? e : "";
}

await call("POST", "/api/v1/admin/bootstrap", { "X-CA-Root-Key": root }, {});
let orgKey: string;
const onboard = await call("POST", "/api/v1/organizations/onboard", { "X-CA-Root-Key": root }, {
  org_slug: ORG,
  company_name: "Demo Org",
  admin_email: "ops@demo.example",
  subscription_plan: "SCALE",
});
if (onboard.status === 201) orgKey = onboard.json.api_key;
else {
  const rotated = await call("POST", `/api/v1/organizations/${ORG}/api-key/rotate`, { "X-CA-Root-Key": root }, {});
  orgKey = rotated.json.api_key;
}
const org = { "X-API-Key": orgKey };
const setups: [string, unknown][] = [
  ["openai", { credential: OPENAI_STANDIN_KEY, credential_name: "Demo admin key" }],
  ["anthropic", { credential: ANTHROPIC_STANDIN_KEY }],
  ["deepseek", { credential: DEEPSEEK_STANDIN_KEY }],
  ["gcp", { credential: sa.json, billing_export_table: "demo_billing.jsonl" }],
];
for (const [provider, body] of setups) {
  const r = await call("POST", `/api/v1/integrations/${ORG}/${provider}/setup`, org, body);
  console.log(`integration ${provider.padEnd(9)} ${r.json.validation_status ?? r.status} ${failure(r)}`);
}
const day = (offset: number) => isoDay(addDays(dayOf(today), offset));
const runs: [string, unknown][] = [
  ["openai/usage_cost", { start_date: day(-7), end_date: day(-1) }],
  ["anthropic/usage_cost", { start_date: day(-7), end_date: day(-1) }],
  ["gcp/billing", { start_date: day(-7), end_date: day(-1) }],
  ["deepseek/usage_cost", { date: day(-1) }],
];
for (const [path, body] of runs) {
  const r = await call("POST", `/api/v1/pipelines/run/${ORG}/${path}?wait=true`, org, body);
  const outcome = r.status === 200 ? `${r.json.status} ${r.json.rows_written ?? 0} rows` : `HTTP ${r.status}`;
  console.log(`run ${path.padEnd(21)} ${outcome} ${failure(r)}`);
}

console.log(`
Convergence demo is running at ${server.url} (data in ${dataDir}; provider simulators on loopback).
  root key:    ${root}
  org key:     ${orgKey}   (org "${ORG}")

Try:
  curl -s ${server.url}/api/v1/integrations/${ORG} -H "X-API-Key: ${orgKey}"
  curl -s "${server.url}/api/v1/costs/${ORG}?start=${day(-7)}&end=${
  day(-1)
}&group_by=provider" -H "X-API-Key: ${orgKey}"
  curl -s ${server.url}/api/v1/pipelines/runs/${ORG} -H "X-API-Key: ${orgKey}"
  curl -s -X POST "${server.url}/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true" -H "X-API-Key: ${orgKey}" \\
       -H "Content-Type: application/json" -d '{"start_date":"${day(-3)}"}'
  curl -s ${server.url}/api/v1/openapi.json
Ctrl-C stops it.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await Promise.all([openai.close(), anthropic.close(), deepseek.close(), oauth.close()]);
    Deno.exit(0);
  });
}
