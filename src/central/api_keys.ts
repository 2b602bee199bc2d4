/**
 * Org API keys (`org_api_keys`; this store is the one writer and reader of the table): `{org_slug}_api_{random}`,
 * stored as a SHA-256 hash (plus a vault-encrypted copy and a 4-char fingerprint). Onboarding writes an org's
 * first key inside its own transaction ({@link ApiKeyStore.insertIn}); rotation revokes every older key of the
 * org and writes the new one in one transaction. Lookups go by hash with a constant-time compare, through an
 * in-process cache that revocation and a force-recreated bootstrap on this instance clear at once; other
 * instances see a revoked key within {@link KEY_CACHE_TTL_MS}.
 */
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { constantTimeEqual, generateApiKey, sha256Hex } from "../orgs/keys.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

/** How long a found key is trusted without asking the warehouse again (bounds revocation across instances). */
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_SHAPE = /^([a-z][a-z0-9_]{2,49})_api_([A-Za-z0-9]{16,64})$/;
/** Random characters of an org key. */
const KEY_RANDOM_CHARS = 24;

export interface KeyIdentity {
  readonly orgSlug: string;
  readonly keyId: string;
}

interface CacheEntry {
  readonly identity: KeyIdentity | null;
  readonly expires: number;
}

export interface IssuedKey {
  readonly apiKey: string;
  readonly keyId: string;
  readonly fingerprint: string;
  readonly row: Record<string, unknown>;
}

/** Looks up, issues and revokes org API keys. */
export class ApiKeyStore {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #table: TableSchema;

  /** @throws {Error} when `tables` lacks org_api_keys */
  constructor(
    private readonly warehouse: Warehouse,
    tables: TableSchemas,
    private readonly vault: KeyVault,
    opts: { ttlMs?: number; negativeTtlMs?: number; maxEntries?: number } = {},
  ) {
    this.#ttlMs = opts.ttlMs ?? KEY_CACHE_TTL_MS;
    this.#negativeTtlMs = opts.negativeTtlMs ?? 2_000;
    this.maxEntries = opts.maxEntries ?? 50_000;
    this.#table = tableOf(tables, "org_api_keys");
  }
  private readonly maxEntries: number;

  /** Whether `apiKey` is a valid key in the cache now (no warehouse lookup; a hash and a map read). */
  isCached(apiKey: string): boolean {
    if (apiKey.length > 200 || !KEY_SHAPE.test(apiKey)) return false;
    const hit = this.#cache.get(sha256Hex(apiKey));
    return hit !== undefined && hit.identity !== null && hit.expires > Date.now();
  }

  /** The org a key belongs to, or null for an unknown, malformed or revoked key. */
  async lookup(apiKey: string): Promise<KeyIdentity | null> {
    const m = KEY_SHAPE.exec(apiKey);
    if (!m) return null;
    const hash = sha256Hex(apiKey);
    const now = Date.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.expires > now) return hit.identity;
    const rows = await this.warehouse.query<{ org_api_key_id: string; org_slug: string; org_api_key_hash: string }>(
      `SELECT org_api_key_id, org_slug, org_api_key_hash FROM ${CENTRAL_DATASET}.org_api_keys
       WHERE org_api_key_hash = @hash AND is_active = TRUE AND (expires_at IS NULL OR expires_at > CURRENT_TIMESTAMP)`,
      { hash },
    );
    const row = rows.find((r) => constantTimeEqual(r.org_api_key_hash, hash) && r.org_slug === m[1]);
    const identity = row ? { orgSlug: row.org_slug, keyId: row.org_api_key_id } : null;
    if (this.#cache.size >= this.maxEntries) this.#cache.clear();
    this.#cache.set(hash, { identity, expires: now + (identity ? this.#ttlMs : this.#negativeTtlMs) });
    return identity;
  }

  /** Creates a key row (not yet written): {@link insertIn} writes it in the caller's transaction. */
  async issue(orgSlug: string, randomChars: number, now: Date): Promise<IssuedKey> {
    const apiKey = generateApiKey(orgSlug, randomChars);
    const keyId = crypto.randomUUID();
    const fingerprint = apiKey.slice(-4);
    const row = {
      org_api_key_id: keyId,
      org_slug: orgSlug,
      org_api_key_hash: sha256Hex(apiKey),
      encrypted_org_api_key: await this.vault.encrypt(apiKey, { org_slug: orgSlug, provider: "ORG_API_KEY" }),
      fingerprint,
      scopes: ["pipelines", "integrations", "costs"],
      is_active: true,
      created_at: now.toISOString(),
      revoked_at: null,
      expires_at: null,
      last_used_at: null,
    };
    return { apiKey, keyId, fingerprint, row };
  }

  /** Writes an issued key's row in the caller's transaction `tx`. */
  async insertIn(tx: WarehouseTx, key: IssuedKey): Promise<void> {
    await tx.insertRows(CENTRAL_DATASET, this.#table, [key.row]);
  }

  /** Deletes every key row of the org in `tx` (onboarding clears a failed attempt's rows); resolves the count. */
  deleteOrgIn(tx: WarehouseTx, orgSlug: string): Promise<number> {
    return tx.execute(`DELETE FROM ${CENTRAL_DATASET}.org_api_keys WHERE org_slug = @org_slug`, { org_slug: orgSlug });
  }

  /**
   * A new key for the org; every older active key revoked (with `reason`) in the same transaction, which also
   * runs `inTx` (e.g. storing the idempotent answer), and the org's cached lookups forgotten after the commit.
   * Resolves the new key and how many keys were revoked.
   */
  async rotate(
    orgSlug: string,
    opts: { now: Date; reason: string },
    inTx?: (tx: WarehouseTx, rotated: { key: IssuedKey; revoked: number }) => Promise<void>,
  ): Promise<{ key: IssuedKey; revoked: number }> {
    const key = await this.issue(orgSlug, KEY_RANDOM_CHARS, opts.now);
    let revoked = 0;
    await this.warehouse.transaction(async (tx) => {
      revoked = await tx.execute(
        `UPDATE ${CENTRAL_DATASET}.org_api_keys SET is_active = FALSE, revoked_at = CAST(@now AS TIMESTAMP), revocation_reason = @reason
         WHERE org_slug = @org_slug AND is_active = TRUE`,
        { org_slug: orgSlug, now: opts.now.toISOString(), reason: opts.reason },
      );
      await this.insertIn(tx, key);
      await inTx?.(tx, { key, revoked });
    });
    this.forgetOrg(orgSlug);
    return { key, revoked };
  }

  /** Forgets every cached lookup (call when the central dataset is dropped: no key is valid any more). */
  forgetAll(): void {
    this.#cache.clear();
  }

  /** Forgets every cached lookup of `orgSlug` (call after revoking its keys). */
  forgetOrg(orgSlug: string): void {
    for (const [hash, entry] of this.#cache) {
      if (entry.identity?.orgSlug === orgSlug || entry.identity === null) this.#cache.delete(hash);
    }
  }
}
