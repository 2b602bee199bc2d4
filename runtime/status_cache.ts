/**
 * A short-lived, per-instance cache of each org's integration statuses, so the status routes do not hit the
 * warehouse on every request. Every write this instance makes (setup, validate, delete) invalidates the org
 * at once; changes made by other instances show within the TTL.
 */

export class StatusCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();

  constructor(private readonly ttlMs = 15_000, private readonly maxEntries = 20_000) {}

  async get(org: string, load: () => Promise<V>): Promise<V> {
    const now = performance.now();
    const hit = this.#entries.get(org);
    if (hit && hit.expires > now) return hit.value;
    const value = await load();
    if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    this.#entries.set(org, { value, expires: now + this.ttlMs });
    return value;
  }

  invalidate(org: string): void {
    this.#entries.delete(org);
  }
}
