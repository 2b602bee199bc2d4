/**
 * Load: 64 concurrent clients across 10 orgs for 30 s on authenticated routes while pipelines run. Every answer
 * must be 200 or the expected 429, and carry the caller's own org (no cross-org leak); p50/p99 are recorded.
 * Run: deno run -A bench/load.ts   (LOAD_SECONDS overrides the duration)
 */
import { spawnServer, startPermissions } from "../tests/_process.ts";
import { startOpenAIStandIn } from "../tests/standins/openai.ts";

const SECONDS = Number(Deno.env.get("LOAD_SECONDS") ?? 30);
const CLIENTS = 64;
const ORGS = 10;
const ROOT = "load-root-key-0123456789abcdef0123456789";

const openai = startOpenAIStandIn({
  keys: Object.fromEntries(
    Array.from({ length: ORGS }, (_, i) => [`sk-admin-load-${String(i).padStart(20, "0")}`, { seed: `o${i}` }]),
  ),
  delayMs: 20,
});
const dataDir = await Deno.makeTempDir({ prefix: "conv-load-" });
const server = await spawnServer(["run", ...startPermissions(), "runtime/main.ts"], {
  DATA_DIR: dataDir,
  CA_ROOT_API_KEY: ROOT,
  OPENAI_BASE_URL: openai.baseUrl,
  SCHEDULER_ENABLED: "false",
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_SECOND: "200",
  RATE_LIMIT_BURST: "400",
}, "/health");
const j = (path: string, method: string, headers: Record<string, string>, body?: unknown) =>
  fetch(server.url + path, {
    method,
    headers: { ...headers, "Content-Type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
    .then(async (r) => ({ status: r.status, json: await r.json() }));
await j("/api/v1/admin/bootstrap", "POST", { "X-CA-Root-Key": ROOT }, {});
const orgs: { slug: string; key: string }[] = [];
for (let i = 0; i < ORGS; i++) {
  const slug = `load_org_${i}`;
  const r = await j("/api/v1/organizations/onboard", "POST", { "X-CA-Root-Key": ROOT }, {
    org_slug: slug,
    company_name: slug,
    admin_email: `o${i}@load.example`,
    subscription_plan: "SCALE",
  });
  const setup = await j(`/api/v1/integrations/${slug}/openai/setup`, "POST", { "X-API-Key": r.json.api_key }, {
    credential: `sk-admin-load-${String(i).padStart(20, "0")}`,
  });
  if (setup.status !== 200) throw new Error(`setup failed: ${JSON.stringify(setup.json)}`);
  orgs.push({ slug, key: r.json.api_key });
}

const latencies: number[] = [];
const counts: Record<string, number> = {};
let leaks = 0;
let runsStarted = 0;
const deadline = performance.now() + SECONDS * 1000;
const routes = (
  o: { slug: string },
) => [
  `/api/v1/integrations/${o.slug}`,
  `/api/v1/pipelines/runs/${o.slug}`,
  `/api/v1/integrations/${o.slug}/openai/pricing`,
];

async function client(n: number): Promise<void> {
  const org = orgs[n % ORGS]!;
  let i = 0;
  while (performance.now() < deadline) {
    const path = routes(org)[i++ % 3]!;
    const t0 = performance.now();
    const res = await fetch(server.url + path, { headers: { "X-API-Key": org.key } });
    const text = await res.text();
    latencies.push(performance.now() - t0);
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    if (res.status === 200 && !text.includes(`"org_slug":"${org.slug}"`)) leaks++;
    if (orgs.some((o) => o.slug !== org.slug && text.includes(o.slug))) leaks++;
  }
}

async function pipelines(): Promise<void> {
  let day = 1;
  while (performance.now() < deadline - 2000) {
    for (const o of orgs) {
      const r = await j(`/api/v1/pipelines/run/${o.slug}/openai/usage_cost`, "POST", { "X-API-Key": o.key }, {
        start_date: `2025-10-${String(day).padStart(2, "0")}`,
      });
      if (r.status === 202) runsStarted++;
    }
    day = day % 28 + 1;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

await Promise.all([...Array.from({ length: CLIENTS }, (_, n) => client(n)), pipelines()]);
await server.stop();
await openai.close();
await Deno.remove(dataDir, { recursive: true });
latencies.sort((a, b) => a - b);
const pct = (p: number) => +latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);
const unexpected = Object.entries(counts).filter(([s]) => s !== "200" && s !== "429").reduce((n, [, c]) => n + c, 0);
console.log(
  JSON.stringify(
    {
      seconds: SECONDS,
      clients: CLIENTS,
      orgs: ORGS,
      requests: latencies.length,
      statuses: counts,
      unexpected,
      cross_org_leaks: leaks,
      runs_started: runsStarted,
      p50_ms: pct(0.5),
      p99_ms: pct(0.99),
    },
    null,
    2,
  ),
);
if (unexpected || leaks) Deno.exit(1);
