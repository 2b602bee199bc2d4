/**
 * Per-identity token bucket (the authenticated org, or the root caller); never keyed by a client-supplied
 * header. Answers 429 with Retry-After, RateLimit and RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers
 * structured fields).
 */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../src/errors/mod.ts";
import type { AuthIdentity } from "./auth.ts";

export interface RateLimitOptions {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Bucket size. */
  readonly burst: number;
  readonly now?: () => number;
  /** Buckets kept at most; idle full buckets are dropped first. */
  readonly maxBuckets?: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(readonly opts: RateLimitOptions) {
    if (!(opts.perSecond > 0) || !(opts.burst >= 1)) throw new Error("Rate limit needs perSecond > 0 and burst >= 1");
    this.#now = opts.now ?? (() => performance.now());
    this.#max = opts.maxBuckets ?? 100_000;
  }

  /** Takes a token for `key`; returns remaining tokens and, when refused, seconds until one is available. */
  take(key: string): { allowed: boolean; remaining: number; retryAfter: number; resetSeconds: number } {
    const b = this.#refilled(key);
    const resetSeconds = Math.ceil((this.opts.burst - b.tokens) / this.opts.perSecond);
    if (b.tokens < 1) {
      return {
        allowed: false,
        remaining: 0,
        retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / this.opts.perSecond)),
        resetSeconds,
      };
    }
    b.tokens -= 1;
    return { allowed: true, remaining: Math.floor(b.tokens), retryAfter: 0, resetSeconds };
  }

  /** Takes `cost` more tokens from `key` whatever is left (down to minus one burst): a penalty after the fact. */
  charge(key: string, cost: number): void {
    const b = this.#refilled(key);
    b.tokens = Math.max(-this.opts.burst, b.tokens - cost);
  }

  /** The bucket of `key` (a full one when new), topped up for the time since it was last touched. */
  #refilled(key: string): Bucket {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#max) this.#evict(now);
      b = { tokens: this.opts.burst, updated: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.updated) / 1000) * this.opts.perSecond);
    b.updated = now;
    return b;
  }

  #evict(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.updated) / 1000) * this.opts.perSecond >= this.opts.burst) this.#buckets.delete(k);
    }
    if (this.#buckets.size >= this.#max) this.#buckets.clear();
  }
}

export function rateLimit(buckets: TokenBuckets): MiddlewareHandler {
  const window = Math.max(1, Math.ceil(buckets.opts.burst / buckets.opts.perSecond));
  const policy = `"per-org";q=${buckets.opts.burst};w=${window}`;
  return async function rateLimitMiddleware(c, next) {
    const identity = c.get("auth") as AuthIdentity | undefined;
    const key = identity?.kind === "org" ? `org:${identity.orgSlug}` : identity?.kind === "root" ? "root" : undefined;
    if (!key) return await next();
    const r = buckets.take(key);
    if (!r.allowed) {
      throw new AppError("RATE_LIMITED", `Too many requests for this organization; retry in ${r.retryAfter} s`, {
        headers: {
          "Retry-After": String(r.retryAfter),
          "RateLimit-Policy": policy,
          "RateLimit": `"per-org";r=${r.remaining};t=${r.retryAfter}`,
        },
      });
    }
    // Allowed requests carry no rate-limit headers: building them costs on the hot path and clients only need
    // them when refused (the policy is documented and also sent with every 429).
    await next();
  };
}
