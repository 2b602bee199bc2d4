/**
 * Unauthenticated floods are limited per client before the key lookup: random well-formed keys from one client
 * get 429 after a short burst (no warehouse lookup each), while other orgs' valid keys keep answering 200.
 */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { createApp } from "../../runtime/app.ts";
import { startServer } from "../../runtime/server.ts";
import { FAILED_LOOKUP_COST } from "../../runtime/middleware/client_limit.ts";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const randomKey = (slug: string) =>
  `${slug}_api_${Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => ALNUM[b % 62]).join("")}`;

function p95(ms: number[]): number {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.95)]!;
}

Deno.test("a flood of random keys from one client gets 429 after the burst; other clients and cached keys keep 200", async () => {
  const h = await startHarness({ RATE_LIMIT_PER_SECOND: "10", RATE_LIMIT_BURST: "40", SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    const victim = await h.onboard("victim_corp");
    const app = await createApp(h.deps);
    const from = (ip: string, key: string, path = "/api/v1/integrations/victim_corp") =>
      app.request(path, { headers: { "X-API-Key": key } }, { remoteAddr: { hostname: ip, port: 1, transport: "tcp" } });
    // The victim's key is in use (cached) before the flood starts.
    assert.equal((await from("10.0.0.2", victim)).status, 200);

    const statuses: number[] = [];
    const victimMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await from("10.0.0.66", randomKey("victim_corp"));
      statuses.push(r.status);
      await r.body?.cancel();
      if (i % 10 === 0) { // within the per-org budget (same rate and burst)
        const t0 = performance.now();
        const ok = await from("10.0.0.2", victim);
        victimMs.push(performance.now() - t0);
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
      }
    }
    const lookups = statuses.filter((s) => s === 401).length;
    assert.ok(lookups >= 1 && lookups <= Math.ceil(40 / (1 + FAILED_LOOKUP_COST)) + 2, `401s: ${lookups}`);
    assert.equal(statuses.at(-1), 429);
    assert.ok(statuses.slice(lookups + 2).every((s) => s === 429), statuses.join(","));
    const limited = await from("10.0.0.66", randomKey("victim_corp"));
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("Retry-After")) >= 1);
    const body = await limited.json();
    assert.equal(body.error.code, "RATE_LIMITED");

    // A cached key from the flooding client itself still passes; so does a new org's first lookup elsewhere.
    assert.equal((await from("10.0.0.66", victim)).status, 200);
    const other = await h.onboard("other_corp");
    assert.equal((await from("10.0.0.3", other, "/api/v1/integrations/other_corp")).status, 200);
    console.log(`victim p95 during the flood: ${p95(victimMs).toFixed(2)} ms over ${victimMs.length} requests`);
  } finally {
    await h.close();
  }
});

const SERVER_ROOT = "client-limit-root-key-0123456789abcdef";

/** A real server (5 a second, burst 20, plus `env`) on a temp DATA_DIR, bootstrapped; `stop` ends it and its files. */
async function bootedServer(prefix: string, env: Record<string, string> = {}) {
  const dataDir = await Deno.makeTempDir({ prefix });
  const server = await startServer({
    DATA_DIR: dataDir,
    PORT: "0",
    CA_ROOT_API_KEY: SERVER_ROOT,
    RATE_LIMIT_PER_SECOND: "5",
    RATE_LIMIT_BURST: "20",
    ...env,
    SCHEDULER_ENABLED: "false",
    LOG_LEVEL: "error",
  });
  const stop = async () => {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  };
  try {
    const boot = await fetch(`${server.url}/api/v1/admin/bootstrap`, {
      method: "POST",
      headers: { "X-CA-Root-Key": SERVER_ROOT, "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(boot.status, 200, await boot.text());
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: server.url, stop };
}

/** `n` lookups of fresh random keys of acme_corp, the i-th with X-Forwarded-For `xff(i)`: their statuses. */
async function flood(url: string, n: number, xff: (i: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/api/v1/integrations/acme_corp`, {
      headers: { "X-API-Key": randomKey("acme_corp"), "X-Forwarded-For": xff(i) },
    });
    statuses.push(r.status);
    await r.body?.cancel();
  }
  return statuses;
}

Deno.test("the client limit keys a real server's requests by the connection's remote address", async () => {
  const server = await bootedServer("conv-client-limit-");
  try {
    const statuses = await flood(server.url, 30, (i) => `192.0.2.${i}`);
    assert.ok(statuses.includes(429), statuses.join(","));
    assert.ok(statuses.indexOf(429) <= 6, `a forwarding header gives no fresh budget: ${statuses.join(",")}`);
  } finally {
    await server.stop();
  }
});

Deno.test("behind TRUSTED_PROXY_HOPS=1 the limit keys on the proxy's X-Forwarded-For entry, never on a forged one", async () => {
  const server = await bootedServer("conv-client-proxy-", { TRUSTED_PROXY_HOPS: "1" });
  try {
    // The proxy appends the address it saw: the last entry. Entries left of it are whatever the client sent.
    const flooder = await flood(server.url, 12, (i) => `198.51.100.${i}, 203.0.113.7`);
    assert.ok(flooder.includes(429), `one client behind the proxy is limited: ${flooder.join(",")}`);
    assert.ok(flooder.indexOf(429) <= 6, `forged left entries give no fresh budget: ${flooder.join(",")}`);
    const other = await flood(server.url, 12, () => "203.0.113.8");
    assert.equal(other[0], 401, `another client behind the proxy has its own budget: ${other.join(",")}`);
  } finally {
    await server.stop();
  }
});
