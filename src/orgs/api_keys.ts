/**
 * Org API keys: `{org_slug}_api_{random}`, stored as a SHA-256 hash (plus a vault-encrypted copy and a
 * 4-char fingerprint). Lookups go by hash with a constant-time compare, through an in-process cache
 * that revocation and a force-recreated bootstrap on this instance clear at once; other instances see a
 * revoked key within {@link KEY_CACHE_TTL_MS}.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Warehouse } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";

export const CENTRAL_DATASET = "organizations";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** How long a found key is trusted without asking the warehouse again (bounds revocation across instances). */
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_SHAPE = /^([a-z][a-z0-9_]{2,49})_api_([A-Za-z0-9]{16,64})$/;

/** A fresh key for `orgSlug` with `randomChars` characters drawn uniformly from [A-Za-z0-9]. */
export function generateApiKey(orgSlug: string, randomChars = 24): string {
  const out: string[] = [];
  while (out.length < randomChars) {
    for (const b of crypto.getRandomValues(new Uint8Array(randomChars * 2))) {
      if (b < 248 && out.length < randomChars) out.push(ALPHABET[b % 62]!); // 248 = 4 * 62: no modulo bias
    }
  }
  return `${orgSlug}_api_${out.join("")}`;
}

/** SHA-256 of `text` as lowercase hex (synchronous: it runs on every authenticated request). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Constant-time equality of two strings of hex digests (or any equal-length secrets). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return timingSafeEqual(x, x) && false;
  return timingSafeEqual(x, y);
}

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

  constructor(
    private readonly warehouse: Warehouse,
    private readonly vault: KeyVault,
    opts: { ttlMs?: number; negativeTtlMs?: number; maxEntries?: number } = {},
  ) {
    this.#ttlMs = opts.ttlMs ?? KEY_CACHE_TTL_MS;
    this.#negativeTtlMs = opts.negativeTtlMs ?? 2_000;
    this.maxEntries = opts.maxEntries ?? 50_000;
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

  /** Creates a key row (not yet written): the caller inserts `row` into org_api_keys, in its own transaction. */
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
