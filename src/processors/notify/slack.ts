/**
 * `notify_systems.slack_notification`: posts a run summary to a Slack incoming webhook. The URL is read
 * from the env var named by `webhook_url_env` (unset: skipped and logged) and must pass the URL guard:
 * https and a host in `allowed_hosts` (outside production SLACK_ALLOWED_HOSTS may add hosts, e.g. a
 * local test sink), never a private address; redirects are not followed.
 */
import { slackSpec } from "../specs.ts";
import { defineProcessor, type Processor } from "../registry.ts";
import { denoEnv, type GetEnv } from "../../notify/settings.ts";
import { guardUrl, parseHostList, type ResolveDns } from "../../notify/url_guard.ts";
import { postJson } from "../../notify/webhook.ts";
import { headline, type RunSummary, runSummary } from "./_summary.ts";

export interface SlackNotifierDeps {
  readonly getEnv?: GetEnv;
  readonly fetch?: typeof fetch;
  readonly resolveDns?: ResolveDns;
  /** Per attempt; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Attempts on 429/5xx; default 3. */
  readonly attempts?: number;
  /** First retry delay; default 500 ms. */
  readonly backoffMs?: number;
}

/** Slack mrkdwn escaping: `&`, `<` and `>` (so an error text cannot mention @channel or forge a link). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The webhook body: `text` (the notification fallback) and blocks with the run's fields. */
export function slackPayload(s: RunSummary, mention?: string): Record<string, unknown> {
  const icon = s.status === "COMPLETED" ? ":white_check_mark:" : ":x:";
  const text = `${mention ? `${mention} ` : ""}${icon} ${slackEscape(headline(s))}`;
  const field = (label: string, value: string | null) => ({
    type: "mrkdwn",
    text: `*${label}*\n${value === null ? "-" : slackEscape(value)}`,
  });
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text } },
      {
        type: "section",
        fields: [
          field("Pipeline", s.pipeline),
          field("Organization", s.org),
          field("Run", s.runId),
          field("Status", s.status),
          field("Environment", s.environment),
        ],
      },
      ...(s.error
        ? [{ type: "section", text: { type: "mrkdwn", text: `*Error*\n\`\`\`${slackEscape(s.error)}\`\`\`` } }]
        : []),
    ],
  };
}

/** The Slack notifier with its env, fetch and DNS injectable (tests pass stand-ins). */
export function createSlackProcessor(deps: SlackNotifierDeps = {}): Processor {
  return defineProcessor(slackSpec, async (ctx, config) => {
    const getEnv = deps.getEnv ?? denoEnv;
    const raw = getEnv(config.webhook_url_env)?.trim();
    if (!raw) {
      ctx.logger.info("slack notification not configured; skipped", { env_var: config.webhook_url_env });
      return {};
    }
    const production = ctx.env.environment === "production";
    const devHosts = parseHostList(getEnv("SLACK_ALLOWED_HOSTS"));
    if (production && devHosts.length) ctx.logger.warn("SLACK_ALLOWED_HOSTS is ignored in production");
    const url = await guardUrl(raw, {
      production,
      allowedHosts: config.allowed_hosts,
      devAllowedHosts: production ? [] : devHosts,
      what: `Slack webhook URL (${config.webhook_url_env})`,
      ...(deps.resolveDns ? { resolveDns: deps.resolveDns } : {}),
    });
    const result = await postJson(url, slackPayload(runSummary(ctx), config.mention), {
      what: "Slack webhook",
      timeoutMs: deps.timeoutMs ?? 5_000,
      attempts: deps.attempts ?? 3,
      backoffMs: deps.backoffMs ?? 500,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    ctx.logger.info("slack notification sent", { host: url.host, attempts: result.attempts });
    return {};
  });
}

export const slackProcessor: Processor = createSlackProcessor();
