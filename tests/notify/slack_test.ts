import assert from "node:assert/strict";
import { createSlackProcessor, type SlackNotifierDeps } from "../../src/processors/notify/slack.ts";
import type { ProcessorContext } from "../../src/processors/context.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";

interface Hit {
  path: string;
  body: unknown;
  contentType: string | null;
}

/** A webhook sink on 127.0.0.1:0 answering with `answers` in turn (the last one repeats). */
function startSink(answers: (() => Response | Promise<Response>)[]) {
  const hits: Hit[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const text = await req.text();
    hits.push({
      path: new URL(req.url).pathname,
      body: text ? JSON.parse(text) : null,
      contentType: req.headers.get("content-type"),
    });
    return await answers[Math.min(hits.length - 1, answers.length - 1)]!();
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return { hits, host, url: `http://${host}/services/T000/B000/s3cr3tW3bh00k`, close: () => server.shutdown() };
}

function fakeCtx(opts: { environment?: "development" | "production"; error?: string | null; status?: string } = {}) {
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    logs.push({ level, msg, ...(fields ? { fields } : {}) });
  const ctx = {
    env: { environment: opts.environment ?? "development", datasetSuffix: "local" },
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    now: () => new Date("2025-07-01T10:00:00Z"),
    pipeline: {
      path: "openai/usage_cost",
      id: "openai-usage-cost",
      description: "Daily OpenAI usage",
    } as PipelineModule,
    org: { slug: "acme_1", dataset: "acme_1_local" },
    run: { id: "acme_1-openai-usage-cost-20250701100000-ab12cd34", trigger: "on_failure" },
    params: { status: opts.status ?? "FAILED", error: opts.error === undefined ? "OpenAI answered 401" : opts.error },
    state: new Map(),
  } as unknown as ProcessorContext;
  return { ctx, logs };
}

const config = { webhook_url_env: "SLACK_WEBHOOK_URL", allowed_hosts: ["hooks.slack.com"] };

function notifier(env: Record<string, string>, deps: SlackNotifierDeps = {}) {
  return createSlackProcessor({ getEnv: (n) => env[n], backoffMs: 10, ...deps });
}

Deno.test("slack notifier posts the run summary as JSON to an allow-listed sink", async () => {
  const sink = startSink([() => new Response("ok")]);
  try {
    const { ctx, logs } = fakeCtx({ error: "Provider said <!channel> & key sk-abcdefghijkl1234 is invalid" });
    const env = { SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host };
    await notifier(env).run(ctx, { ...config, mention: "<!here>" });
    assert.equal(sink.hits.length, 1);
    const hit = sink.hits[0]!;
    assert.equal(hit.path, "/services/T000/B000/s3cr3tW3bh00k");
    assert.equal(hit.contentType, "application/json");
    // deno-lint-ignore no-explicit-any -- the JSON payload is inspected field by field
    const body = hit.body as any;
    assert.equal(body.text, '<!here> :x: Pipeline "openai/usage_cost" FAILED for org "acme_1"');
    assert.deepEqual(body.blocks[1].fields.map((f: { text: string }) => f.text), [
      "*Pipeline*\nopenai/usage_cost",
      "*Organization*\nacme_1",
      "*Run*\nacme_1-openai-usage-cost-20250701100000-ab12cd34",
      "*Status*\nFAILED",
      "*Environment*\ndevelopment",
    ]);
    const error = body.blocks[2].text.text as string;
    assert.match(error, /Provider said &lt;!channel&gt; &amp; key \[REDACTED\] is invalid/);
    assert.ok(!JSON.stringify(body).includes("sk-abcdefghijkl1234"));
    assert.ok(logs.some((l) => l.msg === "slack notification sent" && l.fields?.attempts === 1));
    assert.ok(!JSON.stringify(logs).includes("s3cr3t"), "the webhook URL is never logged");
  } finally {
    await sink.close();
  }
});

Deno.test("slack notifier sends a success summary without an error block", async () => {
  const sink = startSink([() => new Response("ok")]);
  try {
    const { ctx } = fakeCtx({ status: "COMPLETED", error: null });
    await notifier({ SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host }).run(ctx, config);
    // deno-lint-ignore no-explicit-any -- the JSON payload is inspected field by field
    const body = sink.hits[0]!.body as any;
    assert.match(body.text, /^:white_check_mark: Pipeline "openai\/usage_cost" COMPLETED/);
    assert.equal(body.blocks.length, 2);
  } finally {
    await sink.close();
  }
});

Deno.test("slack notifier retries a 500 and a 429, then succeeds", async () => {
  const sink = startSink([
    () => new Response("boom", { status: 500 }),
    () => new Response("slow down", { status: 429, headers: { "retry-after": "0" } }),
    () => new Response("ok"),
  ]);
  try {
    const { ctx, logs } = fakeCtx();
    await notifier({ SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host }).run(ctx, config);
    assert.equal(sink.hits.length, 3);
    assert.ok(logs.some((l) => l.msg === "slack notification sent" && l.fields?.attempts === 3));
  } finally {
    await sink.close();
  }
});

Deno.test("slack notifier throws a clear error when the sink always answers 500", async () => {
  const sink = startSink([() => new Response("internal error", { status: 500 })]);
  try {
    const { ctx } = fakeCtx();
    await assert.rejects(
      notifier({ SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host }).run(ctx, config),
      (err: Error) => {
        assert.equal(err.message, `Slack webhook at "${sink.host}" answered 500 after 3 attempts: internal error`);
        assert.ok(!err.message.includes("s3cr3t"));
        return true;
      },
    );
    assert.equal(sink.hits.length, 3);
  } finally {
    await sink.close();
  }
});

Deno.test("slack notifier does not retry a 400 and never follows a redirect", async () => {
  const bad = startSink([() => new Response("invalid_payload", { status: 400 })]);
  const redirect = startSink([() => new Response(null, { status: 302, headers: { location: "/elsewhere" } })]);
  try {
    const { ctx } = fakeCtx();
    await assert.rejects(
      notifier({ SLACK_WEBHOOK_URL: bad.url, SLACK_ALLOWED_HOSTS: bad.host }).run(ctx, config),
      /answered 400: invalid_payload$/,
    );
    assert.equal(bad.hits.length, 1);
    await assert.rejects(
      notifier({ SLACK_WEBHOOK_URL: redirect.url, SLACK_ALLOWED_HOSTS: redirect.host }).run(ctx, config),
      /answered a redirect \(302\); redirects are not followed/,
    );
    assert.deepEqual(redirect.hits.map((h) => h.path), ["/services/T000/B000/s3cr3tW3bh00k"]);
  } finally {
    await bad.close();
    await redirect.close();
  }
});

Deno.test("slack notifier gives up on a sink that does not answer in time", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const sink = startSink([async () => (await held, new Response("late"))]);
  try {
    const { ctx } = fakeCtx();
    const env = { SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host };
    await assert.rejects(notifier(env, { timeoutMs: 150 }).run(ctx, config), /did not answer within 150 ms/);
    assert.equal(sink.hits.length, 1, "a timed-out POST is not repeated (it may have been delivered)");
  } finally {
    release();
    await sink.close();
  }
});

Deno.test("slack notifier refuses a loopback sink that is not allow-listed, and in production", async () => {
  const sink = startSink([() => new Response("ok")]);
  try {
    const { ctx } = fakeCtx();
    await assert.rejects(notifier({ SLACK_WEBHOOK_URL: sink.url }).run(ctx, config), /must use https/);
    const https = sink.url.replace("http:", "https:");
    await assert.rejects(notifier({ SLACK_WEBHOOK_URL: https }).run(ctx, config), /loopback address/);
    const prod = fakeCtx({ environment: "production" });
    const env = { SLACK_WEBHOOK_URL: sink.url, SLACK_ALLOWED_HOSTS: sink.host };
    await assert.rejects(
      notifier(env).run(prod.ctx, config),
      /Slack webhook URL \(SLACK_WEBHOOK_URL\) refused: it must use https in production/,
    );
    assert.ok(prod.logs.some((l) => l.level === "warn" && /SLACK_ALLOWED_HOSTS is ignored/.test(l.msg)));
    await assert.rejects(
      notifier({ SLACK_WEBHOOK_URL: https, SLACK_ALLOWED_HOSTS: sink.host }).run(prod.ctx, config),
      /loopback/,
    );
    assert.equal(sink.hits.length, 0);
  } finally {
    await sink.close();
  }
});

Deno.test("slack notifier skips with a log line when its env var is unset", async () => {
  const { ctx, logs } = fakeCtx();
  let fetched = false;
  const p = notifier({}, { fetch: () => (fetched = true, Promise.resolve(new Response("ok"))) });
  assert.deepEqual(await p.run(ctx, { ...config, webhook_url_env: "TEAM_SLACK_URL" }), {});
  assert.equal(fetched, false);
  assert.deepEqual(logs, [{
    level: "info",
    msg: "slack notification not configured; skipped",
    fields: { env_var: "TEAM_SLACK_URL" },
  }]);
});
