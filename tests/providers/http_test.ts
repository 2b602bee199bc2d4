import assert from "node:assert/strict";
import { z } from "zod";
import { ProviderError, ProviderHttp } from "../../src/providers/http.ts";
import { OpenAIClient } from "../../src/providers/openai.ts";
import { OPENAI_STANDIN_KEY, type OpenAIStandInOptions, startOpenAIStandIn } from "../standins/openai.ts";
import { assertNoSecret, fastRetries, providerError, serveJson } from "./_helpers.ts";

const MiB = 1024 * 1024;

async function withOpenAI(
  options: OpenAIStandInOptions,
  run: (standIn: ReturnType<typeof startOpenAIStandIn>) => Promise<void>,
) {
  const standIn = startOpenAIStandIn(options);
  try {
    await run(standIn);
  } finally {
    await standIn.close();
  }
}

Deno.test("ProviderHttp retries 5xx the configured number of times, then names provider and endpoint", async () => {
  await withOpenAI({ fail5xx: 100 }, async (standIn) => {
    const retries = fastRetries({ maxRetries: 3 });
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...retries });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "unavailable");
    assert.equal(error.attempts, 4);
    assert.equal(standIn.requests.length, 4, "1 attempt + 3 retries");
    assert.match(
      error.message,
      /^OpenAI GET \/organization\/usage\/completions failed: 50[03] unavailable \(the provider is unavailable; the provider said ".+"\), gave up after 4 attempts$/,
    );
    assert.deepEqual(retries.waits, [8, 15, 30], "exponential backoff with jitter (random fixed at 0.5)");
    assertNoSecret(error.message, OPENAI_STANDIN_KEY);
  });
});

Deno.test("ProviderHttp recovers when the provider comes back before the retries run out", async () => {
  await withOpenAI({ fail5xx: 2 }, async (standIn) => {
    const retries = fastRetries();
    await new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...retries }).validateAdminKey();
    assert.deepEqual(standIn.requests.map((r) => r.fault), ["5xx", "5xx", undefined]);
    assert.equal(retries.waits.length, 2);
  });
});

Deno.test("ProviderHttp honours Retry-After on 429", async (t) => {
  await t.step("in seconds", async () => {
    await withOpenAI({ rateLimit: 2 }, async (standIn) => {
      const retries = fastRetries();
      const seen: number[] = [];
      await new OpenAIClient({
        apiKey: OPENAI_STANDIN_KEY,
        baseUrl: standIn.baseUrl,
        ...retries,
        onRetry: ({ delayMs, error }) => {
          assert.equal(error.kind, "rate_limited");
          seen.push(delayMs);
        },
      }).validateAdminKey();
      assert.deepEqual(retries.waits, [1000, 1000]);
      assert.deepEqual(seen, [1000, 1000]);
      assert.equal(standIn.requests.length, 3);
    });
  });
  await t.step("as an HTTP date", async () => {
    const now = Date.UTC(2025, 0, 1, 12, 0, 0);
    await withOpenAI({ rateLimit: 1, retryAfter: new Date(now + 7_000).toUTCString() }, async (standIn) => {
      const retries = fastRetries({ now: () => now });
      await new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...retries }).validateAdminKey();
      assert.deepEqual(retries.waits, [7000]);
    });
  });
  await t.step("capped at maxDelayMs", async () => {
    await withOpenAI({ rateLimit: 1, retryAfter: "3600" }, async (standIn) => {
      const retries = fastRetries({ maxDelayMs: 2_000 });
      await new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...retries }).validateAdminKey();
      assert.deepEqual(retries.waits, [2000]);
    });
  });
  await t.step("and really waits with the default sleep", async () => {
    await withOpenAI({ rateLimit: 1 }, async (standIn) => {
      const started = performance.now();
      await new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl }).validateAdminKey();
      assert.ok(performance.now() - started >= 950, "waited about one second");
    });
  });
  await t.step("giving up as rate_limited when it persists", async () => {
    await withOpenAI({ rateLimit: 10 }, async (standIn) => {
      const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...fastRetries() });
      const error = await providerError(client.validateAdminKey());
      assert.equal(error.kind, "rate_limited");
      assert.equal(error.status, 429);
      assert.equal(standIn.requests.length, 5, "default maxRetries is 4");
    });
  });
});

Deno.test("ProviderHttp turns a slow provider into a timeout error", async (t) => {
  await t.step("slow answers are retried, then fail", async () => {
    await withOpenAI({ delayMs: 400 }, async (standIn) => {
      const client = new OpenAIClient({
        apiKey: OPENAI_STANDIN_KEY,
        baseUrl: standIn.baseUrl,
        ...fastRetries({ timeoutMs: 50, maxRetries: 1 }),
      });
      const error = await providerError(client.validateAdminKey());
      assert.equal(error.kind, "timeout");
      assert.equal(error.status, undefined);
      assert.match(error.message, /failed: timeout \(no complete answer within 50 ms\), gave up after 2 attempts$/);
      assert.equal(standIn.requests.length, 2);
    });
  });
  await t.step("a provider that never answers", async () => {
    await withOpenAI({ hang: true }, async (standIn) => {
      const client = new OpenAIClient({
        apiKey: OPENAI_STANDIN_KEY,
        baseUrl: standIn.baseUrl,
        ...fastRetries({ timeoutMs: 50, maxRetries: 0 }),
      });
      const error = await providerError(client.validateAdminKey());
      assert.equal(error.kind, "timeout");
    });
  });
});

Deno.test("ProviderHttp rejects malformed JSON without retrying", async () => {
  await withOpenAI({ malformed: true }, async (standIn) => {
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, ...fastRetries() });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "malformed");
    assert.match(error.message, /200 malformed \(response body is not valid JSON\)$/);
    assert.equal(standIn.requests.length, 1);
  });
});

Deno.test("ProviderHttp stops reading a huge body at maxBytes", async () => {
  await withOpenAI({ huge: true }, async (standIn) => {
    const client = new OpenAIClient({
      apiKey: OPENAI_STANDIN_KEY,
      baseUrl: standIn.baseUrl,
      ...fastRetries({ maxBytes: MiB }),
    });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "too_large");
    assert.match(error.message, /too_large \(response body exceeds 1048576 bytes\)/);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(standIn.hugeBytesSent < 16 * MiB, `read ${standIn.hugeBytesSent} of 64 MiB`);
    assert.equal(standIn.requests.length, 1);
  });
});

Deno.test("ProviderHttp refuses a declared Content-Length over maxBytes without reading", async () => {
  const fake = serveJson(() => new Response("x".repeat(2048), { headers: { "content-length": "2048" } }));
  try {
    const http = new ProviderHttp({ maxBytes: 1024 });
    const error = await providerError(
      http.request({ provider: "Test", endpoint: "GET /big", url: `${fake.url}/big`, schema: z.unknown() }),
    );
    assert.equal(error.kind, "too_large");
  } finally {
    await fake.close();
  }
});

Deno.test("ProviderHttp treats a refused connection as unavailable and retries it", async () => {
  const fake = serveJson(() => new Response());
  await fake.close();
  const retries = fastRetries({ maxRetries: 2 });
  const error = await providerError(
    new ProviderHttp(retries).request({
      provider: "Test",
      endpoint: "GET /x",
      url: `${fake.url}/x`,
      schema: z.unknown(),
      secrets: ["s3cr3t-value"],
    }),
  );
  assert.equal(error.kind, "unavailable");
  assert.equal(error.attempts, 3);
  assert.match(error.message, /network error/);
});

Deno.test("ProviderHttp refuses to send a request to another origin than the one given", async () => {
  await assert.rejects(
    new ProviderHttp().request({
      provider: "OpenAI",
      endpoint: "GET /x",
      url: "https://evil.example/x",
      origin: "https://api.openai.com",
      schema: z.unknown(),
    }),
    /Refusing to send a OpenAI credential to "https:\/\/evil.example"/,
  );
});

Deno.test("ProviderError messages carry no credential, even when the provider echoes it", async () => {
  const secret = "sk-admin-Zq8Vn3Lp0Wx5Tr7Ky2";
  const fake = serveJson(() =>
    Response.json({ error: { message: `Key ${secret} is revoked (sk-adm...Ky2, ****r7Ky2)` } }, { status: 400 })
  );
  try {
    const error = await providerError(
      new ProviderHttp().request({
        provider: "OpenAI",
        endpoint: "GET /x",
        url: `${fake.url}/x`,
        schema: z.unknown(),
        secrets: [secret],
      }),
    );
    assert.equal(error.kind, "bad_request");
    assertNoSecret(error.message, secret);
    assert.ok(!error.message.includes("r7Ky2"));
    assert.match(error.message, /the provider said "Key \[REDACTED\] is revoked/);
    assert.ok(error instanceof ProviderError && !error.retryable);
  } finally {
    await fake.close();
  }
});
