/**
 * Checks a user- or operator-influenced URL before the server sends anything to it (SSRF guard):
 * https only in production, the host in an allow-list, never a private, loopback, link-local, metadata
 * or unique-local address nor a numeric alias of one, no user info, and in production every A/AAAA
 * answer public. Outside production an explicit dev allow-list (e.g. "127.0.0.1:8080" for a test sink)
 * may add hosts and lifts the address checks for exactly those hosts.
 */
import { AppError } from "../errors/mod.ts";
import { ipRefusalReason, isIpLiteral, parseIPv4 } from "./ip.ts";

/** Resolves a name to its addresses; `Deno.resolveDns` by default. NotFound means no record. */
export type ResolveDns = (host: string, type: "A" | "AAAA", signal: AbortSignal) => Promise<string[]>;

export interface UrlGuardOptions {
  /** Production: https only, `allowedHosts` only, DNS answers checked. */
  readonly production: boolean;
  /** Hosts the URL may point at: `name` (default port only) or `name:port`. */
  readonly allowedHosts: readonly string[];
  /** Outside production only (ignored in production): more hosts, exempt from the address checks. */
  readonly devAllowedHosts?: readonly string[];
  /** Resolve the host and refuse private answers; default: `production`. */
  readonly checkDns?: boolean;
  readonly resolveDns?: ResolveDns;
  readonly dnsTimeoutMs?: number;
  /** Names the URL in messages, e.g. `Slack webhook URL (SLACK_WEBHOOK_URL)`; the URL itself is never echoed. */
  readonly what?: string;
}

/** A URL the guard refused (`URL_REFUSED`); `message` names the host at most, never the path, query or user info. */
function urlRefused(what: string, reason: string): AppError {
  return new AppError("URL_REFUSED", `${what} refused: ${reason}`);
}

/** Splits a comma/space separated host list ("127.0.0.1:8080, hooks.example.test"). */
export function parseHostList(text: string | undefined): string[] {
  return (text ?? "").split(/[\s,]+/).map((h) => h.trim()).filter(Boolean);
}

/** The host as written in `raw` (before the URL parser canonicalised it), lower-cased, without port. */
function writtenHost(raw: string): string {
  const authority = /^\s*[a-z][a-z0-9+.-]*:[/\\]*([^/\\?#]*)/i.exec(raw)?.[1] ?? "";
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  const bare = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:[0-9]*$/, "");
  return bare.toLowerCase().replace(/\.$/, "");
}

function canonicalHost(url: URL): string {
  return url.hostname.toLowerCase().replace(/\.$/, "");
}

/** Whether `url` matches an entry `host` (default port only) or `host:port`. */
function hostMatches(url: URL, entries: readonly string[]): boolean {
  const host = canonicalHost(url);
  for (const entry of entries) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::([0-9]{1,5}))?$/.exec(entry.trim().toLowerCase());
    if (!m) continue;
    let entryHost: string;
    try {
      entryHost = canonicalHost(new URL(`http://${m[1]}`));
    } catch {
      continue;
    }
    if (entryHost !== host) continue;
    if (m[2] === undefined ? url.port === "" : url.port === m[2] || (url.port === "" && m[2] === defaultPort(url))) {
      return true;
    }
  }
  return false;
}

function defaultPort(url: URL): string {
  return url.protocol === "https:" ? "443" : "80";
}

/**
 * The synchronous checks: parses `raw` and returns the URL to use.
 * @throws {AppError} `URL_REFUSED` naming the reason (and the host, never the rest of the URL)
 */
export function checkUrl(raw: string, opts: UrlGuardOptions): URL {
  const what = opts.what ?? "URL";
  const refuse = (reason: string) => urlRefused(what, reason);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw refuse("it is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw refuse(`scheme "${url.protocol}" is not https`);
  if (url.username || url.password) throw refuse("it carries user info (user:password@host), which is never allowed");
  const host = canonicalHost(url);
  const devListed = !opts.production && hostMatches(url, opts.devAllowedHosts ?? []);
  if (url.protocol === "http:" && !devListed) {
    throw refuse(opts.production ? "it must use https in production" : `it must use https (host "${url.host}")`);
  }
  if (devListed) return url;
  const written = writtenHost(raw);
  if (parseIPv4(host) && written !== host) {
    throw refuse(`host "${written}" is a numeric alias of ${host}; write hosts by name`);
  }
  const ipReason = ipRefusalReason(host);
  if (ipReason) throw refuse(`host "${url.hostname}" is ${ipReason}`);
  if (host === "localhost" || host.endsWith(".localhost")) throw refuse(`host "${host}" is a loopback name`);
  if (!hostMatches(url, opts.allowedHosts)) {
    const listed = opts.allowedHosts.join(", ") || "none";
    throw refuse(`host "${url.host}" is not in the allowed hosts (${listed})`);
  }
  return url;
}

const defaultResolve: ResolveDns = (host, type, signal) => Deno.resolveDns(host, type, { signal });

/**
 * {@link checkUrl}, then (in production, or with `checkDns`) resolves the host and refuses it when it
 * does not resolve or when any A/AAAA answer is a private or special address.
 * The request itself resolves the name again: the allow-list is what bounds that gap.
 * @throws {AppError} `URL_REFUSED`
 */
export async function guardUrl(raw: string, opts: UrlGuardOptions): Promise<URL> {
  const url = checkUrl(raw, opts);
  const host = canonicalHost(url);
  const devListed = !opts.production && hostMatches(url, opts.devAllowedHosts ?? []);
  if (!(opts.checkDns ?? opts.production) || devListed || isIpLiteral(host)) return url;
  const what = opts.what ?? "URL";
  const resolve = opts.resolveDns ?? defaultResolve;
  const signal = AbortSignal.timeout(opts.dnsTimeoutMs ?? 5_000);
  const lookup = async (type: "A" | "AAAA") => {
    try {
      return await resolve(host, type, signal);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw urlRefused(what, `host "${host}" could not be resolved (${(err as Error).message})`);
    }
  };
  const answers = (await Promise.all([lookup("A"), lookup("AAAA")])).flat();
  if (answers.length === 0) throw urlRefused(what, `host "${host}" does not resolve`);
  for (const address of answers) {
    const reason = isIpLiteral(address) ? ipRefusalReason(address) : "not an IP address";
    if (reason) throw urlRefused(what, `host "${host}" resolves to ${address}, ${reason}`);
  }
  return url;
}
