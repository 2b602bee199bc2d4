/**
 * `integrations.validate_{openai,anthropic,deepseek,gcp}`: the cheapest read of the endpoint each credential
 * will really be used for. Setup: an INVALID credential stops the pipeline before anything is stored.
 * Re-validation: the stored row's status is updated either way.
 */
import { AppError } from "../../errors/mod.ts";
import { z } from "zod";
import {
  AnthropicClient,
  DeepSeekClient,
  mintAccessToken,
  OpenAIClient,
  parseServiceAccount,
} from "../../providers/mod.ts";
import { PROVIDERS } from "../../providers/catalogue.ts";
import { ProviderError } from "../../providers/http.ts";
import { validateSpecs } from "../specs.ts";
import { defineProcessor, type Processor } from "../registry.ts";
import { type ProcessorContext, type StepResult } from "../context.ts";
import {
  API_NAME,
  credentialInPlay,
  type CredentialProvider,
  invalid,
  providerFailure,
  recordValidation,
} from "./_credential.ts";
import { checkBillingExport } from "./billing_export.ts";

/** Codes the checks throw themselves (their answer, kept as it is); any other failure is mapped by providerFailure. */
const OWN_CODES: ReadonlySet<string> = new Set(["CREDENTIAL_INVALID", "VALIDATION_ERROR", "PROVIDER_UNAVAILABLE"]);
/** Codes that mean the credential itself was refused: a stored one is recorded INVALID. */
const REFUSED: ReadonlySet<string> = new Set(["CREDENTIAL_INVALID", "VALIDATION_ERROR"]);

type Check = (ctx: ProcessorContext, secret: string, timeoutMs: number) => Promise<Record<string, unknown>>;

const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
/** Printable ASCII without spaces: anything else cannot travel in an HTTP header, so it is no API key. */
const API_KEY_CHARS = /^[\x21-\x7e]{1,4096}$/;
const retry = { maxRetries: 2, baseDelayMs: 200 };

const checks: Record<CredentialProvider, Check> = {
  OPENAI: async (ctx, secret, timeoutMs) => {
    await new OpenAIClient({ apiKey: secret, baseUrl: ctx.env.openaiBaseUrl, timeoutMs, ...retry }).validateAdminKey();
    return {};
  },
  ANTHROPIC: async (ctx, secret, timeoutMs) => {
    await new AnthropicClient({ apiKey: secret, baseUrl: ctx.env.anthropicBaseUrl, timeoutMs, ...retry })
      .validateAdminKey();
    return {};
  },
  DEEPSEEK: async (ctx, secret, timeoutMs) => {
    // The pipeline reads /user/balance, so that is the read that proves the key is usable.
    const balance = await new DeepSeekClient({ apiKey: secret, baseUrl: ctx.env.deepseekBaseUrl, timeoutMs, ...retry })
      .balance();
    return { currencies: balance.balance_infos.map((b) => b.currency) };
  },
  GCP_SA: async (ctx, secret, timeoutMs) => {
    let sa;
    try {
      sa = parseServiceAccount(secret);
    } catch (err) {
      if (err instanceof AppError && err.code === "SERVICE_ACCOUNT_INVALID") {
        throw invalid("GCP_SA", `Service account JSON is not usable: ${err.message}`);
      }
      throw err;
    }
    // The token endpoint is where the signed assertion goes: only Google's, unless a test deployment (never
    // production) overrides it with GCP_TOKEN_URI. A key file cannot point the server at any other host.
    const override = ctx.env.environment !== "production" ? ctx.env.gcpTokenUri : undefined;
    if (!override && sa.token_uri !== GOOGLE_TOKEN_URI) {
      throw invalid("GCP_SA", `token_uri must be ${GOOGLE_TOKEN_URI}, not "${sa.token_uri}"`);
    }
    const tokenUri = override ?? sa.token_uri;
    const token = await mintAccessToken(sa, { tokenUri, timeoutMs, ...retry });
    const stored = (ctx.state.get("credential_metadata") ?? {}) as Record<string, unknown>;
    const table = typeof ctx.params.billing_export_table === "string"
      ? ctx.params.billing_export_table
      : String(stored.billing_export_table ?? "");
    const source = await checkBillingExport(ctx, table, token.access_token);
    return { project_id: sa.project_id, client_email: sa.client_email, private_key_id: sa.private_key_id, ...source };
  },
};

function validator(spec: (typeof validateSpecs)[number], provider: CredentialProvider): Processor {
  return defineProcessor(spec, async (ctx, config: z.output<typeof spec.config>): Promise<StepResult> => {
    const { secret, stored } = credentialInPlay(ctx);
    if (provider !== "GCP_SA" && !API_KEY_CHARS.test(secret)) {
      throw invalid(provider, "The API key contains spaces or characters an API key cannot have");
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = await checks[provider](ctx, secret, config.timeout_ms);
    } catch (err) {
      const own = err instanceof AppError && !(err instanceof ProviderError) && OWN_CODES.has(err.code);
      const failure = own ? err : providerFailure(provider, err);
      if (stored && REFUSED.has(failure.code)) await recordValidation(ctx, provider, "INVALID", failure.message);
      throw failure;
    }
    ctx.state.set("validated_metadata", metadata);
    if (stored) await recordValidation(ctx, provider, "VALID", null);
    ctx.logger.info("credential validated", { provider });
    return {
      response: {
        success: true,
        provider: API_NAME[provider],
        validation_status: "VALID",
        message: `${provider} credential is valid`,
        ...(stored ? { last_validated_at: ctx.now().toISOString() } : {}),
      },
    };
  });
}

export const validateProcessors: Processor[] = validateSpecs.map((spec) =>
  validator(spec, PROVIDERS.find((p) => p.validator === spec.type)!.credentialKey)
);
