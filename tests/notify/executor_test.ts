/**
 * The executor-level guarantee: a notification that fails (a webhook answering 500, an SMTP server that
 * refuses connections) is logged and never changes the run's status. Runs go through the real
 * RunExecutor on a harness app (DuckDB), with the real `notify:` entries of openai/usage_cost and the
 * default registry's notifiers reading Deno.env.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { startHarness } from "../runtime/_harness.ts";
import { RunExecutor } from "../../src/pipeline/executor.ts";
import { defaultProcessors, defineProcessor } from "../../src/processors/mod.ts";
import { defineProcessorSpec } from "../../src/processors/spec.ts";
import type { NotifyDef, PipelineModule } from "../../src/pipeline/module.ts";
import { pipeline as usageCost } from "../../generated/pipelines/openai/usage_cost.ts";
import { AppError } from "../../src/errors/mod.ts";

const failSpec = defineProcessorSpec({ type: "test.fail", description: "Always fails", config: z.strictObject({}) });
const passSpec = defineProcessorSpec({ type: "test.pass", description: "Always passes", config: z.strictObject({}) });

function pipeline(psType: string, notify: readonly NotifyDef[]): PipelineModule {
  const { integration: _integration, retry: _retry, ...rest } = usageCost;
  return {
    ...rest,
    path: "test/notify_guarantee",
    id: "test-notify-guarantee",
    steps: [{ id: "only", psType, dependsOn: [], config: {}, tables: [], checks: [] }],
    notify,
    tables: {},
  };
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("a failing notification never fails or changes the run", async (t) => {
  const bodies: string[] = [];
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push(await req.text());
    return new Response("down", { status: 500 });
  });
  const h = await startHarness();
  try {
    await h.bootstrap();
    await h.onboard("notify_org");
    const processors = defaultProcessors();
    processors.register(defineProcessor(failSpec, () => {
      throw new AppError("PROVIDER_ERROR", "OpenAI answered 503 three times");
    }));
    processors.register(defineProcessor(passSpec, () => Promise.resolve({ rowsWritten: 0 })));
    const executor = new RunExecutor({ ...h.deps, processors });
    const env = {
      SLACK_WEBHOOK_URL: `http://127.0.0.1:${sink.addr.port}/services/T1/B1/webhook-secret`,
      SLACK_ALLOWED_HOSTS: `127.0.0.1:${sink.addr.port}`,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(closedPort()),
      SMTP_FROM: "alerts@convergence.test",
    };
    const notifyLogs = () =>
      h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "notification failed; the run keeps its status");

    await t.step("a failed run keeps its own error when both of its notifiers fail", async () => {
      const p = pipeline("test.fail", usageCost.notify);
      const outcome = await withEnv(env, async () => {
        const started = await executor.start(p, "notify_org", {}, { trigger: "api", requestedBy: "test" });
        const outcome = await started.done;
        await executor.notificationsSettled(); // notifications never hold up the outcome
        return outcome;
      });
      assert.equal(outcome.status, "FAILED");
      assert.equal(outcome.error, "OpenAI answered 503 three times");
      assert.equal(outcome.errorCode, "PROVIDER_ERROR");
      const row = await executor.runs.get("notify_org", outcome.runId);
      assert.equal(row?.status, "FAILED");
      assert.equal(row?.error_message, "OpenAI answered 503 three times");
      assert.equal(bodies.length, 3, "the webhook was tried three times");
      assert.match(bodies[0]!, new RegExp(outcome.runId));
      const warned = notifyLogs();
      assert.deepEqual(warned.map((l) => l.ps_type), [
        "notify_systems.email_notification",
        "notify_systems.slack_notification",
      ]);
      assert.match(warned[0].error, /^SMTP connect failed at 127\.0\.0\.1:\d+: /);
      assert.match(warned[1].error, /^Slack webhook at "127\.0\.0\.1:\d+" answered 500 after 3 attempts: down$/);
      assert.equal(warned[1].run_id, outcome.runId);
      assert.ok(!h.logs.join("\n").includes("webhook-secret"), "the webhook URL never reaches the logs");
    });

    await t.step("a completed run stays COMPLETED when an `always` notification fails", async () => {
      bodies.length = 0;
      const before = notifyLogs().length;
      const notify: NotifyDef[] = [
        {
          trigger: "always",
          psType: "notify_systems.slack_notification",
          config: { webhook_url_env: "SLACK_WEBHOOK_URL", allowed_hosts: [] },
        },
        {
          trigger: "on_failure",
          psType: "notify_systems.email_notification",
          config: { smtp_host_env: "SMTP_HOST", subject_prefix: "" },
        },
      ];
      const outcome = await withEnv(env, async () => {
        const started = await executor.start(pipeline("test.pass", notify), "notify_org", {}, {
          trigger: "api",
          requestedBy: "test",
        });
        const outcome = await started.done;
        await executor.notificationsSettled(); // notifications never hold up the outcome
        return outcome;
      });
      assert.equal(outcome.status, "COMPLETED");
      assert.equal((await executor.runs.get("notify_org", outcome.runId))?.status, "COMPLETED");
      assert.equal(bodies.length, 3);
      assert.match(bodies[0]!, /"text":":white_check_mark: Pipeline \\"test\/notify_guarantee\\" COMPLETED/);
      assert.deepEqual(notifyLogs().slice(before).map((l) => l.ps_type), ["notify_systems.slack_notification"]);
    });
  } finally {
    await h.close();
    await sink.shutdown();
  }
});
