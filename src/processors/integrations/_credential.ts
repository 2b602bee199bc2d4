/** Shared pieces of the integration processors: the credential in play, its row, INVALID answers. */
import { ProviderError } from "../../providers/mod.ts";
import { type ProcessorContext } from "../context.ts";
import { AppError } from "../../errors/mod.ts";
import { CREDENTIAL_KEY_OF, type CredentialKey, SLUG_OF } from "../../providers/catalogue.ts";

/** A credential row provider (the catalogue's `CredentialKey`). */
export type CredentialProvider = CredentialKey;

/** The API name of a credential row provider (the catalogue's `SLUG_OF`). */
export const API_NAME: Readonly<Record<CredentialProvider, string>> = SLUG_OF;

export function credentialProvider(ctx: ProcessorContext): CredentialProvider {
  if (!ctx.pipeline.integration) throw new Error(`Pipeline "${ctx.pipeline.path}" names no integration`);
  return CREDENTIAL_KEY_OF[ctx.pipeline.integration];
}

export function requireOrg(ctx: ProcessorContext): { slug: string; dataset: string } {
  if (!ctx.org) throw new Error(`Step "${ctx.step.id}" needs an org`);
  return ctx.org;
}

/** The credential being set up (request param) or, for re-validation, the decrypted stored one. */
export function credentialInPlay(ctx: ProcessorContext): { secret: string; stored: boolean } {
  const p = ctx.params.credential;
  if (typeof p === "string") return { secret: p, stored: false };
  const s = ctx.state.get("credential");
  if (typeof s === "string") return { secret: s, stored: true };
  throw new Error(`Step "${ctx.step.id}" has no credential: run integrations.kms_decrypt first`);
}

/** A 400 INVALID answer: the error shape plus the setup/validate fields the frontend reads. */
export function invalid(provider: CredentialProvider, message: string): AppError {
  return new AppError("CREDENTIAL_INVALID", message, {
    extra: { success: false, provider: API_NAME[provider], validation_status: "INVALID", message },
  });
}

/** Maps a provider failure: a refused credential is INVALID (400); anything else is 502 and changes nothing. */
export function providerFailure(provider: CredentialProvider, err: unknown): AppError {
  if (err instanceof ProviderError && (err.kind === "unauthorized" || err.kind === "forbidden")) {
    return invalid(provider, err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AppError("PROVIDER_UNAVAILABLE", `Could not validate the ${provider} credential: ${message}`);
}

/** Records the outcome of re-validating a stored credential. */
export async function recordValidation(
  ctx: ProcessorContext,
  provider: CredentialProvider,
  status: "VALID" | "INVALID",
  error: string | null,
): Promise<void> {
  await ctx.stores.credentials.recordValidation(requireOrg(ctx).slug, provider, {
    status,
    error,
    now: ctx.now().toISOString(),
  });
}
