/**
 * API benchmark: authenticated org-key GET /api/v1/integrations/{org} on the product versus a bare Hono
 * "hello" app, both in their own process, driven by wrk with 64 connections in the same run; for reference, plain
 * Deno.serve answering with the product's response shape (bench/_shape.ts). Also start-up:
 * process start to first /health 200 with 100 orgs onboarded, versus the hello app's start.
 * Run: deno run -A bench/api.ts   (needs wrk: apt-get install wrk)
 */
import { hasWrk, spawnServer, startPermissions, wrk } from "./_util.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
const ROOT = "bench-root-key-0123456789abcdef0123456789";
const perms = ["run", ...startPermissions()];

if (!hasWrk()) {
  console.error("wrk is not installed (apt-get install wrk); skipping the API benchmark");
  Deno.exit(2);
}
const dataDir = await Deno.makeTempDir({ prefix: "conv-bench-" });
const env = {
  DATA_DIR: dataDir,
  CA_ROOT_API_KEY: ROOT,
  SCHEDULER_ENABLED: "false",
  RATE_LIMIT_PER_SECOND: "100000",
  RATE_LIMIT_BURST: "1000000",
  LOG_LEVEL: Deno.env.get("BENCH_LOG_LEVEL") ?? "info",
  NO_COLOR: "1",
};

// Prepare 100 orgs.
let server = await spawnServer([...perms, "runtime/main.ts"], env, "/health");
const post = (path: string, headers: Record<string, string>, body: unknown) =>
  fetch(server.url + path, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json());
await post("/api/v1/admin/bootstrap", { "X-CA-Root-Key": ROOT }, {});
let key = "";
for (let i = 0; i < 100; i++) {
  const r = await post("/api/v1/organizations/onboard", { "X-CA-Root-Key": ROOT }, {
    org_slug: `bench_org_${i}`,
    company_name: `Bench ${i}`,
    admin_email: `ops${i}@bench.example`,
  });
  if (i === 0) key = r.api_key;
}
await server.stop();

// Start-up with 100 orgs vs the hello app's start-up (3 each, median).
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const helloStarts: number[] = [];
const productStarts: number[] = [];
for (let i = 0; i < 3; i++) {
  const h = await spawnServer(["run", "--allow-net", "--allow-env", "--allow-read", "bench/_hello.ts"], {}, "/");
  helloStarts.push(h.startMs);
  await h.stop();
  const p = await spawnServer([...perms, "runtime/main.ts"], env, "/health");
  productStarts.push(p.startMs);
  await p.stop();
}

const hello = await spawnServer(["run", "--allow-net", "--allow-env", "--allow-read", "bench/_hello.ts"], {}, "/");
const base = await wrk(hello.url + "/", { connections: 64, seconds: SECONDS });
await hello.stop();
const shapeServer = await spawnServer(["run", "--allow-net", "--allow-env", "bench/_shape.ts"], {}, "/");
const shape = await wrk(shapeServer.url + "/", { connections: 64, seconds: SECONDS });
await shapeServer.stop();
server = await spawnServer([...perms, "runtime/main.ts"], env, "/health");
await fetch(`${server.url}/api/v1/integrations/bench_org_0`, { headers: { "X-API-Key": key } }).then((r) =>
  r.body?.cancel()
);
const product = await wrk(`${server.url}/api/v1/integrations/bench_org_0`, {
  connections: 64,
  seconds: SECONDS,
  headers: { "X-API-Key": key },
});
await server.stop();
await Deno.remove(dataDir, { recursive: true });

const result = {
  api: {
    baseline_hello_rps: Math.round(base.rps),
    product_rps: Math.round(product.rps),
    ratio: +(product.rps / base.rps).toFixed(3),
    target_ratio: 0.5,
    // Reference: plain Deno.serve with the product's response shape (body, Content-Type, X-Request-ID).
    shape_only_rps: Math.round(shape.rps),
    shape_only_ratio: +(shape.rps / base.rps).toFixed(3),
    product_p50_ms: product.p50Ms,
    product_p99_ms: product.p99Ms,
    target_p99_ms: 10,
    product_non_2xx: product.non2xx,
  },
  startup: {
    baseline_hello_ms: Math.round(median(helloStarts)),
    product_ms_100_orgs: Math.round(median(productStarts)),
    ratio: +(median(productStarts) / median(helloStarts)).toFixed(2),
    target_ms: 1000,
  },
};
console.log(JSON.stringify(result, null, 2));
