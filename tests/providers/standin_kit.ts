/**
 * Shared machinery of the provider stand-ins in `tests/standins/`: a local server that
 * records every request and injects faults, deterministic numbers, opaque cursors and
 * group-by aggregation. Test fixture code, not product code.
 */

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** Query string as pairs, repeated keys kept in order. */
  query: [string, string][];
  headers: Record<string, string>;
  body: string;
  /** Whether an injected fault answered it. */
  fault?: "5xx" | "429" | "malformed" | "huge" | "hang";
}

/**
 * Fault modes, mutable on a running stand-in (`standIn.faults.fail5xx = 2`). Counters
 * count down as they are used.
 */
export interface FaultOptions {
  /** The next n calls answer 500, 503, 500, ... */
  fail5xx?: number;
  /** The next n calls answer 429 with `Retry-After`. */
  rateLimit?: number;
  /** `Retry-After` sent with 429 (seconds or an HTTP date); default "1". */
  retryAfter?: string;
  /** Delay before every answer. */
  delayMs?: number;
  /** Answer 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Answer 200 with a streamed body of this many bytes (true: 64 MiB); no Content-Length. */
  huge?: boolean | number;
  /** Never answer (the request is held until the stand-in closes). */
  hang?: boolean;
}

/** A running stand-in. */
export interface StandIn {
  /** Root URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly faults: FaultOptions;
  /** Bytes of `huge` bodies actually sent (the client should stop reading early). */
  readonly hugeBytesSent: number;
  close(): Promise<void>;
}

/** How a provider writes its own error answers. */
export type ErrorWriter = (status: number, kind: "server" | "rate_limit", message: string) => Response;

/** Starts a server on 127.0.0.1:0 that records, applies faults, then calls `handle`. */
export function serveStandIn(
  faults: FaultOptions,
  errorResponse: ErrorWriter,
  handle: (req: Request, rec: RecordedRequest) => Response | Promise<Response>,
): StandIn {
  const requests: RecordedRequest[] = [];
  const closing = Promise.withResolvers<void>();
  let hugeBytesSent = 0;
  let failures = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const rec: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      query: [...url.searchParams],
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    };
    requests.push(rec);
    if (faults.delayMs) await Promise.race([closing.promise, new Promise((r) => setTimeout(r, faults.delayMs))]);
    if (faults.hang) {
      rec.fault = "hang";
      await closing.promise;
      return new Response(null, { status: 503 });
    }
    if ((faults.fail5xx ?? 0) > 0) {
      faults.fail5xx!--;
      rec.fault = "5xx";
      const status = failures++ % 2 === 0 ? 500 : 503;
      return errorResponse(status, "server", "The server had an error while processing your request");
    }
    if ((faults.rateLimit ?? 0) > 0) {
      faults.rateLimit!--;
      rec.fault = "429";
      const res = errorResponse(429, "rate_limit", "Rate limit reached, please try again later");
      res.headers.set("retry-after", faults.retryAfter ?? "1");
      return res;
    }
    if (faults.malformed) {
      rec.fault = "malformed";
      return new Response('{"object": "page", "data": [ {"oops"', { headers: { "content-type": "application/json" } });
    }
    if (faults.huge) {
      rec.fault = "huge";
      const total = faults.huge === true ? 64 * 1024 * 1024 : faults.huge;
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= total) return controller.close();
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          hugeBytesSent += piece.length;
          controller.enqueue(piece);
        },
      }, { highWaterMark: 1 });
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    return await handle(req, rec);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    faults,
    get hugeBytesSent() {
      return hugeBytesSent;
    },
    async close() {
      closing.resolve();
      await server.shutdown();
    },
  };
}

/** The bearer token of a request, or undefined. */
export function bearer(req: Request): string | undefined {
  return /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
}

/** A deterministic 32-bit hash of any strings (FNV-1a, then avalanche). */
export function hash32(...parts: (string | number | null)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.map((p) => String(p)).join("\u0000")) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A deterministic integer in [min, max] for the given seed parts. */
export function seededInt(min: number, max: number, ...parts: (string | number | null)[]): number {
  return min + (hash32(...parts) % (max - min + 1));
}

/** A deterministic fraction in [0, 1). */
export function seededFraction(...parts: (string | number | null)[]): number {
  return hash32(...parts) / 2 ** 32;
}

/** An opaque cursor for `offset` that is only valid for the same query (`scope`). */
export function encodeCursor(prefix: string, scope: string, offset: number): string {
  const raw = JSON.stringify({ s: hash32(scope), o: offset });
  return prefix + btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The offset in a cursor made by `encodeCursor`, or undefined when it is foreign or for another query. */
export function decodeCursor(prefix: string, scope: string, cursor: string): number | undefined {
  if (!cursor.startsWith(prefix)) return undefined;
  try {
    const b64 = cursor.slice(prefix.length).replace(/-/g, "+").replace(/_/g, "/");
    const { s, o } = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
    return s === hash32(scope) && Number.isInteger(o) && o >= 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

/** A query with its paging cursor removed, as a stable string (the cursor's scope). */
export function queryScope(path: string, query: [string, string][]): string {
  return path + "?" + query.filter(([k]) => k !== "page").map(([k, v]) => `${k}=${v}`).join("&");
}

/** `YYYY-MM-DD` of a UTC instant. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** True when `day` (`YYYY-MM-DD`) is inside the optional inclusive range. */
export function inDays(day: string, range: { from?: string; to?: string } | undefined): boolean {
  return (!range?.from || day >= range.from) && (!range?.to || day <= range.to);
}

/**
 * Sums `rows` by the `keys` kept; the other `dimensions` become null. Every other
 * number or bigint field is added; nested objects of numbers are added field-wise.
 */
export function aggregate<R extends object>(
  rows: readonly R[],
  keys: readonly string[],
  dimensions: readonly string[],
): R[] {
  const groups = new Map<string, R>();
  for (const row of rows) {
    const id = JSON.stringify(keys.map((k) => (row as Record<string, unknown>)[k] ?? null));
    const current = groups.get(id);
    if (current === undefined) {
      const copy = structuredClone(row) as Record<string, unknown>;
      for (const d of dimensions) if (!keys.includes(d)) copy[d] = null;
      groups.set(id, copy as R);
    } else addInto(current as Record<string, unknown>, row as Record<string, unknown>, dimensions);
  }
  return [...groups.values()];
}

function addInto(target: Record<string, unknown>, row: Record<string, unknown>, dimensions: readonly string[]) {
  for (const [k, v] of Object.entries(row)) {
    if (dimensions.includes(k)) continue;
    if (typeof v === "number" && typeof target[k] === "number") target[k] = (target[k] as number) + v;
    else if (typeof v === "bigint" && typeof target[k] === "bigint") target[k] = (target[k] as bigint) + v;
    else if (typeof v === "object" && v !== null && typeof target[k] === "object" && target[k] !== null) {
      addInto(target[k] as Record<string, unknown>, v as Record<string, unknown>, []);
    }
  }
}

/** A bigint count of 10^-scale units as a normalised decimal string (`1234n, 2` -> "12.34"). */
export function scaledToDecimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}
