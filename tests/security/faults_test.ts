/**
 * Reliability under faults (OWASP API4 unrestricted resource consumption, API8 misconfiguration, API10 unsafe
 * consumption of APIs): providers that hang, drop the connection mid-body, send 10 MB of junk or 429 forever; a key
 * vault that is down; warehouse writes failing mid-way and concurrent writers; a DATA_DIR that is read-only at
 * start-up or fills up. Each time: a bounded, clear error in the one shape, nothing stored (and no plaintext on
 * disk), no internals in the answer, and the process keeps serving.
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { createApp } from "../../runtime/app.ts";
import { loadSettings } from "../../runtime/config.ts";
import { Logger } from "../../runtime/logger.ts";
import { buildDeps } from "../../runtime/server.ts";
import { openVault } from "../../src/vault/mod.ts";
import { ROOT } from "../runtime/_harness.ts";
import { ANTHROPIC_STANDIN_KEY } from "../standins/anthropic.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { OPENAI_STANDIN_KEY } from "../standins/openai.ts";
import { startCloudKmsStandin } from "../standins/cloud_kms.ts";
import {
  closedPort,
  errorShapeProblems,
  filesUnder,
  foundUnder,
  integrationStatus,
  leakProblems,
  ORG_A,
  ORG_B,
  type SecurityHarness,
  startSecurityHarness,
} from "./_kit.ts";
import { canUnshareMounts, spawnServer, taskRunCommand } from "./_server.ts";

type Env = { -readonly [K in "openaiBaseUrl" | "anthropicBaseUrl" | "deepseekBaseUrl"]: string };

/** Asserts a clean failed setup: status, shape, no credential or internals in the answer, nothing stored. */
async function assertFailedSetup(
  h: SecurityHarness,
  provider: string,
  r: { status: number; json: { error?: { message?: string } }; text: string; headers: Headers },
  secret: string,
  expect: { status: number; message: RegExp },
): Promise<void> {
  assert.equal(r.status, expect.status, `${provider}: ${r.text.slice(0, 500)}`);
  assert.deepEqual(errorShapeProblems(r.status, r.headers, r.json), []);
  assert.match(r.json.error!.message!, expect.message);
  assert.ok(!r.text.includes(secret), "the answer carries the credential");
  assert.deepEqual(leakProblems(r.text), []);
  assert.equal(await integrationStatus(h, ORG_A, provider), "NOT_CONFIGURED", "something was stored");
  for (const line of h.logs) {
    assert.ok(!line.includes(secret), `a log line carries the credential: ${line.slice(0, 300)}`);
  }
}

/** A TCP server that answers every connection with headers and half of the announced body, then hangs up. */
function startHalfBodyServer(): { url: string; readonly connections: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        try {
          await conn.read(new Uint8Array(64 * 1024)); // the request head
          const body = '{"object":"page","data":[{"object":"bucket","start_time":1,"end_time":2,"results":[';
          const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${
            body.length * 2
          }\r\n\r\n`;
          await conn.write(new TextEncoder().encode(head + body));
        } catch {
          /* the client went away */
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return connections;
    },
    close: () => listener.close(),
  };
}

Deno.test({
  name: "faults: provider hangs, mid-body drops, 10 MB of junk and endless 429s end in a bounded, clear error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
    const env = h.deps.env as unknown as Env;
    const half = startHalfBodyServer();
    // The setup's per-attempt timeout is 15 s (configs/integrations/openai/setup.yml); 300 ms keeps this test fast.
    const step = pipelines["integrations/openai/setup"].steps[0] as unknown as { config: { timeout_ms: number } };
    const configured = step.config.timeout_ms;
    try {
      await t.step(
        "a provider that never answers: timeout per attempt, 3 attempts, 502, the request returns",
        async () => {
          step.config.timeout_ms = 300;
          h.openai.faults.hang = true;
          const calls = h.openai.requests.length;
          const t0 = performance.now();
          const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/openai/setup`, {
            key: h.keys[ORG_A],
            body: { credential: OPENAI_STANDIN_KEY },
          });
          const ms = performance.now() - t0;
          h.openai.faults.hang = false;
          step.config.timeout_ms = configured;
          await assertFailedSetup(h, "openai", r, OPENAI_STANDIN_KEY, {
            status: 502,
            message: /no complete answer within 300 ms.*gave up after 3 attempts/,
          });
          assert.equal(h.openai.requests.length - calls, 3, "retries are bounded");
          assert.ok(ms < 5_000, `took ${Math.round(ms)} ms`);
          console.log(`faults: hang -> 502 in ${Math.round(ms)} ms`);
        },
      );

      await t.step("a connection dropped half-way through the body: 502 after bounded retries", async () => {
        env.openaiBaseUrl = `${half.url}/v1`;
        const before = half.connections;
        const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/openai/setup`, {
          key: h.keys[ORG_A],
          body: { credential: OPENAI_STANDIN_KEY },
        });
        env.openaiBaseUrl = h.openai.baseUrl;
        await assertFailedSetup(h, "openai", r, OPENAI_STANDIN_KEY, {
          status: 502,
          message: /OpenAI GET \/organization\/usage\/completions failed/,
        });
        assert.ok(
          half.connections - before >= 1 && half.connections - before <= 3,
          `${half.connections - before} tries`,
        );
      });

      await t.step("10 MB of junk with status 200: 502 'not valid JSON', read once, no retry storm", async () => {
        h.deepseek.faults.huge = 10 * 1024 * 1024;
        const calls = h.deepseek.requests.length;
        const rss = Deno.memoryUsage().rss;
        const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/deepseek/setup`, {
          key: h.keys[ORG_A],
          body: { credential: DEEPSEEK_STANDIN_KEY },
        });
        h.deepseek.faults.huge = false;
        await assertFailedSetup(h, "deepseek", r, DEEPSEEK_STANDIN_KEY, { status: 502, message: /not valid JSON/ });
        assert.equal(h.deepseek.requests.length - calls, 1, "a malformed answer is not retried");
        console.log(
          `faults: 10 MB junk -> 502; rss ${Math.round(rss / 2 ** 20)} -> ${
            Math.round(Deno.memoryUsage().rss / 2 ** 20)
          } MiB`,
        );
      });

      await t.step("a 64 MiB answer: the client stops reading at its 20 MiB cap", async () => {
        h.deepseek.faults.huge = 64 * 1024 * 1024;
        const sent = h.deepseek.hugeBytesSent;
        const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/deepseek/setup`, {
          key: h.keys[ORG_A],
          body: { credential: DEEPSEEK_STANDIN_KEY },
        });
        h.deepseek.faults.huge = false;
        await assertFailedSetup(h, "deepseek", r, DEEPSEEK_STANDIN_KEY, { status: 502, message: /exceeds/ });
        const read = h.deepseek.hugeBytesSent - sent;
        assert.ok(read < 32 * 1024 * 1024, `the client kept reading: ${read} bytes`);
      });

      await t.step("429 forever: 3 attempts honouring Retry-After, then 502 'rate limited'", async () => {
        h.anthropic.faults.rateLimit = 1_000;
        h.anthropic.faults.retryAfter = "0";
        const calls = h.anthropic.requests.length;
        const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/anthropic/setup`, {
          key: h.keys[ORG_A],
          body: { credential: ANTHROPIC_STANDIN_KEY },
        });
        h.anthropic.faults.rateLimit = 0;
        await assertFailedSetup(h, "anthropic", r, ANTHROPIC_STANDIN_KEY, {
          status: 502,
          message: /rate_limited.*gave up after 3 attempts/,
        });
        assert.equal(h.anthropic.requests.length - calls, 3, "retries are bounded");
      });

      await t.step("after all of it the same setups succeed (nothing was left half-done)", async () => {
        for (const [provider, credential] of [["openai", OPENAI_STANDIN_KEY], ["deepseek", DEEPSEEK_STANDIN_KEY]]) {
          const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/${provider}/setup`, {
            key: h.keys[ORG_A],
            body: { credential },
          });
          assert.equal(r.status, 200, r.text);
        }
        assert.equal((await h.request("GET", "/health")).status, 200);
      });
    } finally {
      step.config.timeout_ms = configured;
      half.close();
      await h.shutdown();
    }
  },
});

Deno.test({
  name: "faults: a Cloud KMS vault that is down answers 503 VAULT_UNAVAILABLE; nothing stored, no plaintext on disk",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const deepseek = startDeepSeekStandIn();
    const kms = await startCloudKmsStandin();
    const dataDir = await Deno.makeTempDir({ prefix: "conv-sec-vault-" });
    const { settings } = loadSettings({
      DATA_DIR: dataDir,
      CA_ROOT_API_KEY: ROOT,
      DEEPSEEK_BASE_URL: deepseek.url,
      RATE_LIMIT_ENABLED: "false",
      SCHEDULER_ENABLED: "false",
    });
    const logs: string[] = [];
    // Org keys keep the local KEK (buildDeps); credentials go through Cloud KMS, first a live stand-in, then a
    // closed port (the vault "goes down").
    const deps = await buildDeps(settings, new Logger({ sink: (l) => logs.push(l) }));
    const keyName = "projects/sec/locations/global/keyRings/r/cryptoKeys/k";
    const upVault = await openVault({ kind: "cloud_kms", keyName, ...kms.clientOptions, timeoutMs: 800 });
    const downVault = await openVault({
      kind: "cloud_kms",
      keyName,
      apiEndpoint: "127.0.0.1",
      port: closedPort(),
      protocol: "http",
      apiKey: "standin",
      timeoutMs: 800,
    });
    const up = await createApp({ ...deps, vault: upVault });
    const down = await createApp({ ...deps, vault: downVault });
    const call = async (
      app: typeof up,
      method: string,
      path: string,
      headers: Record<string, string>,
      body?: unknown,
    ) => {
      const res = await app.request(path, {
        method,
        headers: { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text), headers: res.headers };
    };
    try {
      assert.equal((await call(up, "POST", "/api/v1/admin/bootstrap", { "X-CA-Root-Key": ROOT }, {})).status, 200);
      const onboard = await call(up, "POST", "/api/v1/organizations/onboard", { "X-CA-Root-Key": ROOT }, {
        org_slug: "vault_org",
        company_name: "Vault",
        admin_email: "ops@vault.test",
      });
      const key = { "X-API-Key": onboard.json.api_key as string };
      const status = async (provider: string) =>
        (await call(up, "GET", `/api/v1/integrations/vault_org/${provider}`, key)).json.status;

      await t.step("setup while the vault is down: 503 in the error shape, NOT_CONFIGURED", async () => {
        const t0 = performance.now();
        const r = await call(down, "POST", "/api/v1/integrations/vault_org/deepseek/setup", key, {
          credential: DEEPSEEK_STANDIN_KEY,
        });
        assert.equal(r.status, 503, r.text);
        assert.equal(r.json.error.code, "VAULT_UNAVAILABLE");
        assert.ok(r.headers.get("retry-after"), "Retry-After is set");
        assert.deepEqual(errorShapeProblems(r.status, r.headers, r.json), []);
        assert.deepEqual(leakProblems(r.text), []);
        assert.ok(!r.text.includes(DEEPSEEK_STANDIN_KEY));
        assert.equal(await status("deepseek"), "NOT_CONFIGURED");
        assert.ok(performance.now() - t0 < 5_000, "the KMS timeout was not honoured");
      });

      await t.step(
        "a credential stored while the vault was up cannot be re-validated while it is down: 503",
        async () => {
          const ok = await call(up, "POST", "/api/v1/integrations/vault_org/deepseek/setup", key, {
            credential: DEEPSEEK_STANDIN_KEY,
          });
          assert.equal(ok.status, 200, ok.text);
          const r = await call(down, "POST", "/api/v1/integrations/vault_org/deepseek/validate", key);
          assert.equal(r.status, 503, r.text);
          assert.equal(r.json.error.code, "VAULT_UNAVAILABLE");
          assert.equal(await status("deepseek"), "VALID", "an outage is not an INVALID credential");
        },
      );

      await t.step("no plaintext credential or data key anywhere under DATA_DIR, nor in a log line", async () => {
        await deps.warehouse.close(); // flush the DuckDB file and its WAL
        assert.equal(await foundUnder(dataDir, DEEPSEEK_STANDIN_KEY), undefined, "plaintext credential on disk");
        for (const line of logs) assert.ok(!line.includes(DEEPSEEK_STANDIN_KEY), `log leaks the credential: ${line}`);
        console.log(`faults: vault down -> 503; scanned ${(await filesUnder(dataDir)).length} files under DATA_DIR`);
      });
    } finally {
      await deps.warehouse.close().catch(() => {});
      await upVault.close?.();
      await downVault.close?.();
      await kms.close();
      await deepseek.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "faults: warehouse writes failing mid-way are a 500 without internals, roll back, and the app keeps serving",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
    const wh = h.deps.warehouse;
    try {
      await t.step(
        "a dropped table under a write: 500 INTERNAL, no SQL/table/engine text, the rest still works",
        async () => {
          await wh.execute("DROP TABLE organizations.org_model_pricing");
          const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/openai/pricing`, {
            key: h.keys[ORG_A],
            body: { model_id: "m1", input_per_1m: "1", output_per_1m: "2" },
          });
          assert.equal(r.status, 500, r.text);
          assert.equal(r.json.error.code, "INTERNAL");
          assert.deepEqual(errorShapeProblems(r.status, r.headers, r.json), []);
          assert.deepEqual(leakProblems(r.text, "", [h.dataDir, "org_model_pricing"]), []);
          assert.ok(
            h.logs.some((l) => l.includes(r.json.error.request_id) && l.includes('"level":"error"')),
            "not logged",
          );
          assert.equal((await h.request("GET", "/health")).status, 200);
          assert.equal((await h.request("GET", `/api/v1/integrations/${ORG_A}`, { key: h.keys[ORG_A] })).status, 200);
        },
      );

      await t.step(
        "a setup whose credential table is gone: 500, the credential in no answer and no log line",
        async () => {
          await wh.execute(
            "ALTER TABLE organizations.org_integration_credentials RENAME TO org_integration_credentials_x",
          );
          const r = await h.request("POST", `/api/v1/integrations/${ORG_B}/deepseek/setup`, {
            key: h.keys[ORG_B],
            body: { credential: DEEPSEEK_STANDIN_KEY },
          });
          await wh.execute(
            "ALTER TABLE organizations.org_integration_credentials_x RENAME TO org_integration_credentials",
          );
          assert.equal(r.status, 500, r.text);
          assert.deepEqual(leakProblems(r.text, "", [h.dataDir, "org_integration_credentials"]), []);
          assert.ok(!r.text.includes(DEEPSEEK_STANDIN_KEY));
          for (const line of h.logs) {
            assert.ok(!line.includes(DEEPSEEK_STANDIN_KEY), `log leaks the credential: ${line}`);
          }
          assert.equal(await integrationStatus(h, ORG_B, "deepseek"), "NOT_CONFIGURED");
        },
      );

      await t.step("a key rotation failing after the revoke: rolled back, the old key keeps working", async () => {
        const oldKey = h.keys[ORG_A]!;
        // The UPDATE that revokes the old key succeeds; the INSERT of the new key then fails (column count).
        await wh.execute("ALTER TABLE organizations.org_api_keys DROP COLUMN last_used_at");
        const r = await h.request("POST", `/api/v1/organizations/${ORG_A}/api-key/rotate`, { root: true, body: {} });
        assert.equal(r.status, 500, r.text);
        assert.deepEqual(leakProblems(r.text, "", [h.dataDir, "org_api_keys"]), []);
        const active = await wh.query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM organizations.org_api_keys WHERE org_slug = @o AND is_active = TRUE",
          { o: ORG_A },
        );
        assert.equal(Number(active[0]!.n), 1, "the revoke was not rolled back");
        assert.equal((await h.request("GET", `/api/v1/integrations/${ORG_A}`, { key: oldKey })).status, 200);
        await wh.execute("ALTER TABLE organizations.org_api_keys ADD COLUMN last_used_at TIMESTAMPTZ");
      });

      await t.step("concurrent writers of the same rows get 200 or 409 WRITE_CONFLICT, never a 500", async () => {
        await h.bootstrap(); // recreates the dropped pricing table
        const counts: Record<number, number> = {};
        for (let round = 0; round < 3; round++) {
          const batch = await Promise.all([
            ...Array.from(
              { length: 4 },
              () =>
                h.request("POST", `/api/v1/integrations/${ORG_B}/openai/subscriptions/reset`, {
                  key: h.keys[ORG_B],
                  body: {},
                }),
            ),
            ...Array.from(
              { length: 4 },
              () =>
                h.request("POST", `/api/v1/integrations/${ORG_B}/anthropic/pricing/reset`, {
                  key: h.keys[ORG_B],
                  body: {},
                }),
            ),
            ...Array.from(
              { length: 4 },
              () => h.request("POST", `/api/v1/organizations/${ORG_A}/api-key/rotate`, { root: true, body: {} }),
            ),
          ]);
          for (const r of batch) {
            counts[r.status] = (counts[r.status] ?? 0) + 1;
            assert.ok(r.status === 200 || r.status === 409, `${r.status} ${r.text}`);
            if (r.status === 409) {
              assert.equal(r.json.error.code, "WRITE_CONFLICT");
              assert.ok(r.headers.get("retry-after"));
            }
          }
          const keys = await wh.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM organizations.org_api_keys WHERE org_slug = @o AND is_active = TRUE",
            { o: ORG_A },
          );
          assert.equal(Number(keys[0]!.n), 1, "concurrent rotations left more than one active key");
        }
        console.log(`faults: concurrent writers ${JSON.stringify(counts)}`);
        assert.equal((await h.request("GET", "/health")).status, 200);
      });
    } finally {
      await h.shutdown();
    }
  },
});

const ROOT_KEY_ENV = { CA_ROOT_API_KEY: ROOT, PORT: "0", SCHEDULER_ENABLED: "false" };

Deno.test({
  name: "faults: a read-only DATA_DIR stops start-up at once with a clear error and leaves no files",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { flags } = await taskRunCommand("start");
    const asRoot = Deno.uid() === 0;
    const namespaces = asRoot && await canUnshareMounts();
    if (asRoot && !namespaces) {
      console.log("faults: running as root without mount namespaces: a read-only DATA_DIR cannot be simulated here");
      return;
    }
    for (const variant of ["with CA_ROOT_API_KEY", "without a root key (it would be generated)"]) {
      await t.step(variant, async () => {
        const dir = await Deno.makeTempDir({ prefix: "conv-sec-ro-" });
        await Deno.chmod(dir, 0o500);
        const env = { ...ROOT_KEY_ENV, DATA_DIR: dir };
        if (variant.startsWith("without")) delete (env as Record<string, string>).CA_ROOT_API_KEY;
        const t0 = performance.now();
        // chmod does not bind root: as root the folder is also bind-mounted read-only in a private mount namespace.
        const server = await spawnServer({
          flags,
          env,
          ...(namespaces
            ? {
              wrap: {
                command: ["unshare", "-m"],
                script: 'mount --bind "$DATA_DIR" "$DATA_DIR" && mount -o remount,bind,ro "$DATA_DIR" || exit 97',
              },
            }
            : {}),
        });
        const status = await server.exited(30_000);
        const ms = performance.now() - t0;
        const out = server.output();
        try {
          assert.equal(server.url, undefined, "the server started on a read-only DATA_DIR");
          assert.equal(status.code, 1, `exit code ${status.code}: ${out.slice(0, 2000)}`);
          assert.ok(ms < 30_000, "start-up hung");
          assert.match(out, /Read-only file system|Permission denied|read-only/i, `the reason is not named: ${out}`);
          assert.ok(out.includes(dir), `the path is not named: ${out.slice(0, 1000)}`);
          assert.deepEqual(await filesUnder(dir), [], "partial files were left");
          console.log(
            `faults: read-only DATA_DIR (${variant}) -> exit ${status.code} in ${Math.round(ms)} ms: ${
              out.split("\n")[0]?.slice(0, 200)
            }`,
          );
        } finally {
          await Deno.chmod(dir, 0o700);
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name: "faults: an unusable DATA_DIR is reported as a configuration problem, without a stack trace",
  async fn() {
    const { flags } = await taskRunCommand("start");
    const server = await spawnServer({ flags, env: { ...ROOT_KEY_ENV, DATA_DIR: "/proc/version/data" } });
    await server.exited(30_000);
    assert.match(server.output(), /Configuration invalid/);
    assert.doesNotMatch(server.output(), /\n\s+at /);
  },
});

Deno.test({
  name: "faults: a full disk under DATA_DIR is a 503 without internals; the process keeps serving and recovers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    if (Deno.uid() !== 0 || !(await canUnshareMounts())) {
      console.log(
        "faults: disk full not simulated (needs root for a private tmpfs mount); covered where CI runs as root",
      );
      return;
    }
    const { flags } = await taskRunCommand("start");
    const dir = await Deno.makeTempDir({ prefix: "conv-sec-full-" });
    const server = await spawnServer({
      flags,
      env: { ...ROOT_KEY_ENV, DATA_DIR: dir },
      wrap: { command: ["unshare", "-m"], script: 'mount -t tmpfs -o size=2m tmpfs "$DATA_DIR" || exit 97' },
    });
    const url = server.url;
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "content-type": "application/json", "X-CA-Root-Key": ROOT },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text), headers: res.headers };
    };
    const onboard = (slug: string) =>
      call("/api/v1/organizations/onboard", { org_slug: slug, company_name: slug, admin_email: "ops@disk.test" });
    // The tmpfs exists only in the server's mount namespace; /proc/<pid>/root reaches it from here.
    const filler = `/proc/${server.pid}/root${dir}/filler`;
    try {
      assert.ok(url, `the server did not start: ${server.output().slice(0, 2000)}`);
      assert.equal((await call("/api/v1/admin/bootstrap", {})).status, 200);
      assert.equal((await onboard("disk_ok")).status, 201);
      let filled = 0;
      const f = await Deno.open(filler, { write: true, create: true });
      try {
        for (const chunk = new Uint8Array(64 * 1024);;) filled += await f.write(chunk);
      } catch (e) {
        assert.ok(e instanceof Error && /No space left/.test(e.message), String(e));
      } finally {
        f.close();
      }
      await t.step(
        `with the disk full (${Math.round(filled / 1024)} KiB filler): writes are 503 in the error shape`,
        async () => {
          for (const slug of ["disk_full_1", "disk_full_2"]) {
            const r = await onboard(slug);
            assert.equal(r.status, 503, r.text);
            assert.equal(r.json.error.code, "WAREHOUSE_UNAVAILABLE");
            assert.ok(Number(r.headers.get("Retry-After")) >= 1);
            assert.deepEqual(errorShapeProblems(r.status, r.headers, r.json), []);
            assert.deepEqual(leakProblems(r.text, "", [dir, "No space", "wal"]), []);
          }
          const health = await call("/health");
          assert.ok(health.status === 200 || health.status === 503, `health ${health.status}`);
        },
      );
      await t.step("space freed: the same writes succeed (nothing half-written blocks them)", async () => {
        await Deno.remove(filler);
        const r = await onboard("disk_full_1");
        assert.equal(r.status, 201, r.text);
        assert.equal((await call("/health")).status, 200);
      });
      const status = await server.stop();
      assert.equal(status.code, 0, `graceful shutdown: ${server.output().slice(-1000)}`);
      assert.ok(server.output().includes("No space left on device"), "the cause is logged for the operator");
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
