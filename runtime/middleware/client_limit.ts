/**
 * Per-client rate limit in front of the key lookup. A request whose credential is not already known (an org key
 * not in the key cache, a wrong root key, no key at all) costs its client (the connection's remote address, or
 * behind `trustedProxyHops` proxies the address they appended to `X-Forwarded-For`) a token before anything is looked up in the warehouse; a lookup that fails
 * costs {@link FAILED_LOOKUP_COST} more. So a flood of random keys from one client is refused with 429 after a
 * short burst, cheaply, while requests with a cached key (every org's steady traffic) never pass through here.
 * In-process requests (tests' `app.request`) have no address and share one client, "local".
 */
import type { Context } from "hono";
import { AppError } from "../../src/errors/mod.ts";
import type { TokenBuckets } from "./rate_limit.ts";

/** Extra tokens a failed lookup (401) costs its client. */
export const FAILED_LOOKUP_COST = 4;

export interface ClientLimitOptions {
  /** Whether the request's credential is known without a lookup (a cached org key, the right root key). */
  readonly isKnown: (c: Context) => boolean;
  /** Proxies that append to `X-Forwarded-For` in front of the service (default 0: use the socket's address). */
  readonly trustedProxyHops?: number;
}

/**
 * The client's address: with `hops` trusted proxies, the `hops`-th entry from the right of `X-Forwarded-For` (the
 * one the outermost trusted proxy appended; entries left of it are client-supplied and never trusted); else, or
 * when the header has fewer entries, the connection's remote address (`Deno.serve` passes it as the env), or
 * "local" in-process.
 */
export function clientAddress(c: Context, hops = 0): string {
  if (hops > 0) {
    const chain = (c.req.header("X-Forwarded-For") ?? "").split(",").map((x) => x.trim()).filter(Boolean);
    const entry = chain[chain.length - hops];
    if (entry) return entry.slice(0, 64);
  }
  const addr = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return addr?.hostname ?? "local";
}

/** The gate, to run before auth: `gate(c, () => auth(c, next))`. */
export function clientLimit(buckets: TokenBuckets, opts: ClientLimitOptions) {
  const window = Math.max(1, Math.ceil(buckets.opts.burst / buckets.opts.perSecond));
  const policy = `"per-client";q=${buckets.opts.burst};w=${window}`;
  return async function clientLimitMiddleware(c: Context, next: () => Promise<void>): Promise<void> {
    if (opts.isKnown(c)) return await next();
    const client = `client:${clientAddress(c, opts.trustedProxyHops)}`;
    const r = buckets.take(client);
    if (!r.allowed) {
      throw new AppError(
        "RATE_LIMITED",
        `Too many requests without a valid API key from this client; retry in ${r.retryAfter} s`,
        {
          headers: {
            "Retry-After": String(r.retryAfter),
            "RateLimit-Policy": policy,
            "RateLimit": `"per-client";r=0;t=${r.retryAfter}`,
          },
        },
      );
    }
    try {
      await next();
    } catch (e) {
      if (e instanceof AppError && e.code === "UNAUTHORIZED") buckets.charge(client, FAILED_LOOKUP_COST);
      throw e;
    }
  };
}
