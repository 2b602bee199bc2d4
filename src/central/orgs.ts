/**
 * Org rows of the central dataset: profiles (`org_profiles`, the row that marks an org as onboarded),
 * subscriptions (`org_subscriptions`) and usage quotas (`org_usage_quotas`), plus the notification recipients
 * read from them. Onboarding's rows are written here in one transaction, the org's first API key through the
 * key store (the one writer of `org_api_keys`).
 */
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import type { ApiKeyStore, IssuedKey } from "./api_keys.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

/** The central tables onboarding writes; all must exist (bootstrap done). */
export const ONBOARDING_TABLES = ["org_profiles", "org_api_keys", "org_subscriptions", "org_usage_quotas"] as const;

/** The rows of one onboard (their columns, `org_slug` included). */
export interface OnboardingRows {
  readonly subscription: Record<string, unknown>;
  readonly usage: Record<string, unknown>;
  readonly key: IssuedKey;
  readonly profile: Record<string, unknown>;
}

export class OrgsStore {
  readonly #profiles: TableSchema;
  readonly #subscriptions: TableSchema;
  readonly #usage: TableSchema;

  /** @throws {Error} when `tables` lacks org_profiles, org_subscriptions or org_usage_quotas */
  constructor(private readonly wh: Warehouse, tables: TableSchemas, private readonly apiKeys: ApiKeyStore) {
    this.#profiles = tableOf(tables, "org_profiles");
    this.#subscriptions = tableOf(tables, "org_subscriptions");
    this.#usage = tableOf(tables, "org_usage_quotas");
  }

  /** The {@link ONBOARDING_TABLES} that do not exist yet (all of them without the central dataset). */
  async missingTables(): Promise<string[]> {
    if (!(await this.wh.datasetExists(CENTRAL_DATASET))) return [...ONBOARDING_TABLES];
    const missing: string[] = [];
    for (const t of ONBOARDING_TABLES) if (!(await this.wh.tableExists(CENTRAL_DATASET, t))) missing.push(t);
    return missing;
  }

  /** Whether the org has a profile row. */
  async exists(orgSlug: string): Promise<boolean> {
    const rows = await this.wh.query(
      `SELECT org_slug FROM ${CENTRAL_DATASET}.org_profiles WHERE org_slug = @org_slug LIMIT 1`,
      { org_slug: orgSlug },
    );
    return rows.length > 0;
  }

  /** Deletes the org's profile row (a leftover of a failed onboard), outside any transaction. */
  async deleteProfile(orgSlug: string): Promise<void> {
    await this.wh.execute(`DELETE FROM ${CENTRAL_DATASET}.org_profiles WHERE org_slug = @org_slug`, {
      org_slug: orgSlug,
    });
  }

  /**
   * In one transaction: deletes whatever an earlier onboard of the slug left (profile, keys, usage quotas,
   * subscriptions, in that order), writes the subscription, usage quotas, API key and, last, the profile (so a
   * backend whose transaction is not atomic never shows a profile without its other rows), then runs `inTx`.
   * Resolves how many leftover rows were deleted.
   */
  async writeOnboarding(
    orgSlug: string,
    rows: OnboardingRows,
    inTx?: (tx: WarehouseTx) => Promise<void>,
  ): Promise<number> {
    let cleared = 0;
    await this.wh.transaction(async (tx) => {
      const clear = (table: string) =>
        tx.execute(`DELETE FROM ${CENTRAL_DATASET}.${table} WHERE org_slug = @org_slug`, { org_slug: orgSlug });
      cleared = await clear(this.#profiles.table);
      cleared += await this.apiKeys.deleteOrgIn(tx, orgSlug);
      cleared += await clear(this.#usage.table);
      cleared += await clear(this.#subscriptions.table);
      await tx.insertRows(CENTRAL_DATASET, this.#subscriptions, [rows.subscription]);
      await tx.insertRows(CENTRAL_DATASET, this.#usage, [rows.usage]);
      await this.apiKeys.insertIn(tx, rows.key);
      await tx.insertRows(CENTRAL_DATASET, this.#profiles, [rows.profile]);
      await inTx?.(tx);
    });
    return cleared;
  }

  /** The org's admin_email plus the notify_emails of its config of `pipelinePath` (when that table exists). */
  async recipients(orgSlug: string, pipelinePath: string): Promise<string[]> {
    const found: string[] = [];
    const profiles = await this.wh.query<{ admin_email: string | null }>(
      `SELECT admin_email FROM ${CENTRAL_DATASET}.org_profiles WHERE org_slug = @org_slug LIMIT 1`,
      { org_slug: orgSlug },
    );
    if (profiles[0]?.admin_email) found.push(profiles[0].admin_email);
    if (await this.wh.tableExists(CENTRAL_DATASET, "org_pipeline_configs")) {
      const rows = await this.wh.query<{ notify_emails: string[] | null }>(
        `SELECT notify_emails FROM ${CENTRAL_DATASET}.org_pipeline_configs
         WHERE org_slug = @org_slug AND pipeline_path = @pipeline_path`,
        { org_slug: orgSlug, pipeline_path: pipelinePath },
      );
      for (const r of rows) found.push(...(r.notify_emails ?? []));
    }
    return found;
  }
}
