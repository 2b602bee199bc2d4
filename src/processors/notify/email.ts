/**
 * `notify_systems.email_notification`: emails a run summary over SMTP (STARTTLS; required in
 * production). Recipients: the config's `to`, or else the org's admin_email (org_profiles) plus the
 * pipeline's notify_emails (org_pipeline_configs). An unset SMTP host variable skips the notification.
 */
import { emailSpec } from "../specs.ts";
import { defineProcessor, type Processor } from "../registry.ts";
import type { ProcessorContext } from "../context.ts";
import { denoEnv, type GetEnv, readSmtpSettings } from "../../notify/settings.ts";
import { buildMessage, cleanAddress, headerSafe } from "../../notify/mime.ts";
import { sendMail } from "../../notify/smtp.ts";
import { headline, type RunSummary, runSummary } from "./_summary.ts";

export interface EmailNotifierDeps {
  readonly getEnv?: GetEnv;
  /** Per SMTP step; default 15000 ms. */
  readonly timeoutMs?: number;
}

const MAX_RECIPIENTS = 50;

/** admin_email of the org plus the pipeline's notify_emails (the orgs store). */
export function orgRecipients(ctx: ProcessorContext): Promise<string[]> {
  return ctx.org ? ctx.stores.orgs.recipients(ctx.org.slug, ctx.pipeline.path) : Promise.resolve([]);
}

/** Distinct valid addresses (case-insensitive), invalid ones logged and left out, at most 50. */
function recipients(ctx: ProcessorContext, candidates: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const c of candidates) {
    try {
      const a = cleanAddress(c);
      if (!seen.has(a.toLowerCase())) seen.set(a.toLowerCase(), a);
    } catch {
      ctx.logger.warn("email notification: skipped an invalid recipient address");
    }
  }
  return [...seen.values()].slice(0, MAX_RECIPIENTS);
}

/** The plain-text body. */
export function emailText(s: RunSummary): string {
  return [
    `${headline(s)}.`,
    "",
    `Pipeline:     ${s.pipeline} (${s.pipelineId})`,
    `Organization: ${s.org ?? "-"}`,
    `Run:          ${s.runId ?? "-"}`,
    `Status:       ${s.status}`,
    `Environment:  ${s.environment}`,
    ...(s.error ? ["", "Error:", s.error] : []),
    "",
    "-- ",
    "Sent by Convergence. Change notifications in the pipeline's notify: settings.",
  ].join("\n");
}

/** The email notifier with its env and timeouts injectable (tests pass stand-ins). */
export function createEmailProcessor(deps: EmailNotifierDeps = {}): Processor {
  return defineProcessor(emailSpec, async (ctx, config) => {
    const production = ctx.env.environment === "production";
    const settings = readSmtpSettings(deps.getEnv ?? denoEnv, { production, hostEnv: config.smtp_host_env });
    if (!settings) {
      ctx.logger.info("email notification not configured; skipped", { env_var: config.smtp_host_env });
      return {};
    }
    const to = recipients(ctx, config.to?.length ? config.to : await orgRecipients(ctx));
    if (to.length === 0) {
      ctx.logger.warn("email notification has no recipients; skipped", { org_slug: ctx.org?.slug ?? null });
      return {};
    }
    const summary = runSummary(ctx);
    const message = buildMessage({
      from: settings.from,
      to,
      subject: `${headerSafe(config.subject_prefix)} ${headline(summary)}`.trim(),
      text: emailText(summary),
      date: ctx.now(),
    });
    const smtp = deps.timeoutMs ? { ...settings.smtp, timeoutMs: deps.timeoutMs } : settings.smtp;
    const result = await sendMail(smtp, { from: settings.fromAddress, to }, message);
    if (result.rejected.length) {
      ctx.logger.warn("email notification: some recipients were refused", {
        refused: result.rejected.length,
        reply: result.rejected[0]!.reply,
      });
    }
    ctx.logger.info("email notification sent", { recipients: result.accepted.length, tls: result.tls });
    return {};
  });
}

export const emailProcessor: Processor = createEmailProcessor();
