/** URL building bound to one base URL, and cursor pagination shared by the provider clients. */
import { ProviderError } from "./http.ts";

/** A query value; arrays become repeated keys, undefined is left out. */
export type QueryValue = string | number | readonly string[] | undefined;

/**
 * Parses a client's `baseUrl`: http(s), no user info, query or fragment.
 * @throws {TypeError} for anything else
 */
export function parseBaseUrl(provider: string, baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`${provider} base URL "${baseUrl}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`${provider} base URL "${baseUrl}" must be http or https`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError(`${provider} base URL must not carry user info, a query or a fragment`);
  }
  return url;
}

/** `base` + `path` (which keeps the base's own path, e.g. `/v1`) + query; always on the base's origin. */
export function endpointUrl(base: URL, path: string, query: Record<string, QueryValue> = {}): URL {
  if (!path.startsWith("/") || path.startsWith("//")) throw new TypeError(`Endpoint path "${path}" must be absolute`);
  const url = new URL(base.origin);
  url.pathname = base.pathname.replace(/\/+$/, "") + path;
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value === "string" || typeof value === "number") url.searchParams.append(key, String(value));
    else for (const item of value) url.searchParams.append(key, item);
  }
  if (url.origin !== base.origin) throw new TypeError(`Endpoint "${path}" left the base URL's origin`);
  return url;
}

/** The page fields every cursor-paginated usage endpoint shares. */
export interface CursorPage {
  has_more: boolean;
  next_page?: string | null | undefined;
}

/**
 * Yields pages until `has_more` is false, sending each `next_page` back as the cursor. The next page is already
 * requested while the consumer works on the current one (at most two pages are held: the one yielded and the one
 * arriving); a consumer that stops early leaves that request to finish unobserved.
 * A page that says "more" without a new cursor is a malformed answer, not a loop.
 * @throws {ProviderError} kind "malformed" for a missing or repeated cursor, or past `maxPages` (after yielding
 * the page that said so)
 */
export async function* paginate<P extends CursorPage>(
  who: { provider: string; endpoint: string },
  fetchPage: (cursor: string | undefined) => Promise<P>,
  maxPages = 10_000,
): AsyncGenerator<P, void, undefined> {
  const seen = new Set<string>();
  // A prefetch that fails while the consumer is busy must not count as an unhandled rejection: it is marked
  // handled at once and still rethrown when awaited.
  const request = (cursor: string | undefined) => {
    const p = fetchPage(cursor);
    p.catch(() => {});
    return p;
  };
  let pending = request(undefined);
  for (let n = 1;; n++) {
    const page = await pending;
    let problem: string | undefined;
    if (page.has_more) {
      const next = page.next_page;
      problem = !next
        ? "has_more is true but next_page is empty"
        : seen.has(next)
        ? "the provider sent the same next_page cursor twice"
        : n >= maxPages
        ? `more than ${maxPages} pages`
        : undefined;
      if (problem === undefined) {
        seen.add(next!);
        pending = request(next!);
      }
    }
    yield page;
    if (problem !== undefined) throw new ProviderError({ ...who, kind: "malformed", detail: problem });
    if (!page.has_more) return;
  }
}
