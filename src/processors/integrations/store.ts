/**
 * `integrations.kms_store`: encrypts the validated credential with a fresh data key (AAD `org|provider`)
 * and replaces the org's row for that provider in one transaction (the credentials store). `integrations.kms_decrypt` reads it back
 * into the run's state for the next steps only.
 */
import { kmsDecryptSpec, kmsStoreSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { API_NAME, credentialInPlay, requireOrg } from "./_credential.ts";
import type { CredentialRow } from "../../central/credentials.ts";
import { AppError } from "../../errors/mod.ts";

/** A display fingerprint that reveals nothing usable: the last 4 characters of an API key, the key id of a service account. */
function fingerprint(provider: string, secret: string, metadata: Record<string, unknown>): string {
  if (provider === "GCP_SA") return `…${String(metadata.private_key_id ?? "").slice(-4)}`;
  return `…${secret.slice(-4)}`;
}

export const kmsStoreProcessor = defineProcessor(kmsStoreSpec, async (ctx, config) => {
  const org = requireOrg(ctx);
  const { secret } = credentialInPlay(ctx);
  const metadata = (ctx.state.get("validated_metadata") ?? {}) as Record<string, unknown>;
  const { private_key_id: _omit, ...publicMetadata } = metadata;
  const encrypted = await ctx.vault.encrypt(secret, { org_slug: org.slug, provider: config.provider });
  const now = ctx.now().toISOString();
  const row: CredentialRow = {
    credential_id: crypto.randomUUID(),
    org_slug: org.slug,
    provider: config.provider,
    credential_name: typeof ctx.params.credential_name === "string" ? ctx.params.credential_name : null,
    encrypted_credential: encrypted,
    encryption_key_version: ctx.vault.kind,
    credential_fingerprint: fingerprint(config.provider, secret, metadata),
    metadata: publicMetadata,
    validation_status: "VALID",
    validation_error: null,
    is_active: true,
    configured_at: now,
    last_validated_at: now,
    created_at: now,
    updated_at: now,
  };
  await ctx.stores.credentials.replace(row);
  ctx.logger.info("credential stored", { provider: config.provider });
  return {
    rowsWritten: 1,
    response: {
      success: true,
      provider: API_NAME[config.provider],
      validation_status: "VALID",
      message: `${config.provider} credential validated and stored encrypted`,
      credential_fingerprint: row.credential_fingerprint,
      configured_at: now,
      ...(Object.keys(publicMetadata).length ? { metadata: publicMetadata } : {}),
    },
  };
});

export const kmsDecryptProcessor = defineProcessor(kmsDecryptSpec, async (ctx, config) => {
  const org = requireOrg(ctx);
  const row = await ctx.stores.credentials.active(org.slug, config.provider);
  if (!row) {
    throw new AppError("NOT_FOUND", `Integration ${config.provider} is not configured for "${org.slug}"`);
  }
  ctx.state.set(
    "credential",
    await ctx.vault.decrypt(row.encrypted_credential, { org_slug: org.slug, provider: config.provider }),
  );
  ctx.state.set("credential_metadata", row.metadata ?? {});
  return {};
});
