/** The run facts a notification carries (pipeline, org, run id, status, error), never a secret. */
import type { ProcessorContext } from "../context.ts";

export interface RunSummary {
  readonly pipeline: string;
  readonly pipelineId: string;
  readonly description: string;
  readonly org: string | null;
  readonly runId: string | null;
  readonly status: string;
  readonly error: string | null;
  readonly environment: string;
}

const SECRET_SHAPED = [
  /\b[a-z][a-z0-9_]{2,49}_api_[A-Za-z0-9_-]{16,}/g, // org API keys
  /\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, // provider keys
  /\bya29\.[A-Za-z0-9_.-]+/g, // Google access tokens
  /\bv1\.[a-z_]+\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // vault envelopes
  /-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g,
];

/** The run's error made safe to send out: key-shaped tokens, bearer values and URL user info removed; capped. */
export function safeError(error: string, max = 1000): string {
  let out = error;
  for (const re of SECRET_SHAPED) out = out.replace(re, "[REDACTED]");
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 [REDACTED]");
  out = out.replace(/(\/\/)[^/\s@]+@/g, "$1[REDACTED]@");
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** The summary of the run a `notify:` entry fires for (`ctx.params` holds `status` and `error`). */
export function runSummary(ctx: ProcessorContext): RunSummary {
  const error = ctx.params.error;
  return {
    pipeline: ctx.pipeline.path,
    pipelineId: ctx.pipeline.id,
    description: ctx.pipeline.description,
    org: ctx.org?.slug ?? null,
    runId: ctx.run?.id ?? null,
    status: typeof ctx.params.status === "string" ? ctx.params.status : "UNKNOWN",
    error: typeof error === "string" && error ? safeError(error) : null,
    environment: ctx.env.environment,
  };
}

/** `Pipeline "openai/usage_cost" FAILED for org "acme"`. */
export function headline(s: RunSummary): string {
  return `Pipeline "${s.pipeline}" ${s.status}${s.org ? ` for org "${s.org}"` : ""}`;
}
