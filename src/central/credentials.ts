/**
 * Integration credentials (`org_integration_credentials`): the one writer and reader of the table. One row per
 * org and provider: storing a credential replaces the org's row of that provider in one transaction, removing
 * it deletes the row (the same delete), and re-validation records its outcome on the active row. Statuses
 * never carry the encrypted credential; only {@link CredentialsStore.active} reads it, for decryption.
 */
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

/** The status of an active credential as the integrations endpoints show it (no secret in it). */
export interface CredentialStatusRow {
  provider: string;
  credential_name: string | null;
  credential_fingerprint: string | null;
  validation_status: string;
  validation_error: string | null;
  configured_at: string;
  last_validated_at: string | null;
  metadata: Record<string, unknown> | null;
}

/** A credential row as stored (the credential encrypted by the vault). */
export interface CredentialRow {
  credential_id: string;
  org_slug: string;
  provider: string;
  credential_name: string | null;
  encrypted_credential: string;
  encryption_key_version: string;
  credential_fingerprint: string;
  metadata: Record<string, unknown>;
  validation_status: "VALID" | "INVALID";
  validation_error: string | null;
  is_active: boolean;
  configured_at: string;
  last_validated_at: string;
  created_at: string;
  updated_at: string;
}

export class CredentialsStore {
  readonly #table: TableSchema;

  /** @throws {Error} when `tables` lacks org_integration_credentials */
  constructor(private readonly wh: Warehouse, tables: TableSchemas) {
    this.#table = tableOf(tables, "org_integration_credentials");
  }

  /** The statuses of the org's active credentials, one per configured provider. */
  statuses(orgSlug: string): Promise<CredentialStatusRow[]> {
    return this.wh.query<CredentialStatusRow>(
      `SELECT provider, credential_name, credential_fingerprint, validation_status, validation_error, configured_at,
              last_validated_at, metadata
       FROM ${CENTRAL_DATASET}.org_integration_credentials WHERE org_slug = @org_slug AND is_active = TRUE`,
      { org_slug: orgSlug },
    );
  }

  /** The encrypted credential and metadata of the org's active row of `provider`, or undefined when none. */
  async active(
    orgSlug: string,
    provider: string,
  ): Promise<{ encrypted_credential: string; metadata: Record<string, unknown> | null } | undefined> {
    const [row] = await this.wh.query<{ encrypted_credential: string; metadata: Record<string, unknown> | null }>(
      `SELECT encrypted_credential, metadata FROM ${CENTRAL_DATASET}.org_integration_credentials
       WHERE org_slug = @org_slug AND provider = @provider AND is_active = TRUE`,
      { org_slug: orgSlug, provider },
    );
    return row;
  }

  /** Replaces the org's row of `row.provider` by `row`, in one transaction. */
  async replace(row: CredentialRow): Promise<void> {
    await this.wh.transaction(async (tx) => {
      await this.#delete(tx, row.org_slug, row.provider);
      await tx.insertRows(CENTRAL_DATASET, this.#table, [{ ...row }]);
    });
  }

  /** Deletes the org's row(s) of `provider`; resolves how many were deleted (0: it was not configured). */
  remove(orgSlug: string, provider: string): Promise<number> {
    return this.#delete(this.wh, orgSlug, provider);
  }

  /** Records the outcome of re-validating the org's active credential of `provider`. */
  async recordValidation(
    orgSlug: string,
    provider: string,
    outcome: { status: "VALID" | "INVALID"; error: string | null; now: string },
  ): Promise<void> {
    await this.wh.execute(
      `UPDATE ${CENTRAL_DATASET}.org_integration_credentials SET validation_status = @status, validation_error = @error,
       last_validated_at = CAST(@now AS TIMESTAMP), updated_at = CAST(@now AS TIMESTAMP)
       WHERE org_slug = @org_slug AND provider = @provider AND is_active = TRUE`,
      { status: outcome.status, error: outcome.error, now: outcome.now, org_slug: orgSlug, provider },
    );
  }

  #delete(q: Pick<WarehouseTx, "execute">, orgSlug: string, provider: string): Promise<number> {
    return q.execute(
      `DELETE FROM ${CENTRAL_DATASET}.org_integration_credentials WHERE org_slug = @org_slug AND provider = @provider`,
      { org_slug: orgSlug, provider },
    );
  }
}
