/**
 * Shared pieces of the security suite: a harness with two onboarded orgs and loopback provider stand-ins, the
 * route inventory (manifest + runtime routes the app mounts), the error-shape and leak checks every response
 * goes through, row snapshots of one org's data, a recording loopback server and byte scans of DATA_DIR.
 */
import type { Hono } from "hono";
import { routes } from "../../generated/manifest.ts";
import { pipelines } from "../../generated/manifest.ts";
import { API_ROUTES } from "../../runtime/routes/mod.ts";
import { createApp } from "../../runtime/app.ts";
import type { AppEnv } from "../../runtime/context.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { type OpenAIStandIn, startOpenAIStandIn } from "../standins/openai.ts";
import { startAnthropicStandIn } from "../standins/anthropic.ts";
import { startDeepSeekStandIn } from "../standins/deepseek.ts";
import { type GcpOAuthStandIn, generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import type { StandIn } from "../providers/standin_kit.ts";

export const ORG_A = "sec_alpha";
export const ORG_B = "sec_beta";

/** A harness whose provider base URLs point at loopback stand-ins, bootstrapped, with orgs A and B onboarded. */
export interface SecurityHarness extends Harness {
  /** A second app over the same deps, for requests the harness helper cannot shape (bytes, odd headers). */
  readonly app: Hono<AppEnv>;
  /** Current org keys (rotations update them). */
  readonly keys: Record<string, string>;
  readonly openai: OpenAIStandIn;
  readonly anthropic: StandIn;
  readonly deepseek: StandIn;
  readonly oauth: GcpOAuthStandIn;
  /** A service account the OAuth stand-in knows. */
  readonly serviceAccount: string;
  shutdown(): Promise<void>;
}

export async function startSecurityHarness(env: Record<string, string> = {}): Promise<SecurityHarness> {
  const openai = startOpenAIStandIn();
  const anthropic = startAnthropicStandIn();
  const deepseek = startDeepSeekStandIn();
  const sa = await generateTestServiceAccount();
  const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });
  const closeStandIns = () => Promise.all([openai.close(), anthropic.close(), deepseek.close(), oauth.close()]);
  let h: Harness;
  try {
    h = await startHarness({
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_BASE_URL: anthropic.url,
      DEEPSEEK_BASE_URL: deepseek.url,
      GCP_TOKEN_URI: oauth.tokenUri,
      SCHEDULER_ENABLED: "false",
      ...env,
    });
  } catch (e) {
    await closeStandIns();
    throw e;
  }
  const keys: Record<string, string> = {};
  try {
    await h.bootstrap();
    keys[ORG_A] = await h.onboard(ORG_A);
    keys[ORG_B] = await h.onboard(ORG_B);
  } catch (e) {
    await h.close();
    await closeStandIns();
    throw e;
  }
  const app = await createApp(h.deps);
  return Object.assign(h, {
    app,
    keys,
    openai,
    anthropic,
    deepseek,
    oauth,
    serviceAccount: sa.json,
    async shutdown() {
      h.deps.scheduler.stop();
      await h.deps.executor.drain().catch(() => {});
      await h.deps.scheduler.idle().catch(() => {});
      await h.close();
      await closeStandIns();
    },
  });
}

export const honoPath = (p: string) => p.replace(/\{([a-z_]+)\}/g, ":$1");

export interface RouteInfo {
  readonly method: string;
  readonly path: string;
  readonly auth: string;
}

/** Every pipeline route plus every runtime route the app mounts (API_ROUTES documents the runtime's routes). */
export function mountedRoutes(h: Harness): RouteInfo[] {
  return [
    ...routes.map((r) => ({ method: r.method as string, path: r.path as string, auth: r.auth as string })),
    ...API_ROUTES.filter((r) => !routes.some((m) => m.path === r.path && m.method === r.method))
      .filter((r) => h.mounted.has(`${r.method} ${honoPath(r.path)}`))
      .map((r) => ({ method: r.method as string, path: r.path, auth: r.auth as string })),
  ];
}

/** Problems with an error response: status-independent shape, request id header and body field. */
export function errorShapeProblems(status: number, headers: Headers, json: unknown): string[] {
  const p: string[] = [];
  const rid = headers.get("x-request-id");
  if (!rid) p.push("no X-Request-ID header");
  if (status < 400) return p;
  const err = (json as { error?: Record<string, unknown> } | null)?.error;
  if (!err || typeof err !== "object") return [...p, "body has no error object"];
  for (const k of ["code", "message", "request_id"]) {
    if (typeof err[k] !== "string" || (k !== "request_id" && err[k] === "")) p.push(`error.${k} missing`);
  }
  if (rid && err.request_id !== rid) p.push("error.request_id differs from X-Request-ID");
  return p;
}

/**
 * Internals that must never reach a client: stack frames, source/module paths, SQL, engine error classes. A
 * pattern that the request itself contained (an echoed path or field) is not counted.
 */
const LEAKS: [string, RegExp][] = [
  ["stack frame", /\n\s+at [^\n]+[(:]\d+/],
  ["stack frame", /\bat (?:async )?[\w.$<>]+ \((?:file|ext|node):/],
  ["source path", /(?:file:\/\/|\/work\/|\/root\/|\/home\/|node_modules|\.ts:\d+)/],
  ["SQL", /\b(?:SELECT\s+[\w*, ]+\s+FROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+(?:\.\w+)?\s+SET|CREATE\s+TABLE)\b/i],
  ["central table", /\borganizations\.org_\w+/],
  [
    "engine error",
    /\b(?:Catalog|Binder|Parser|Conversion|Constraint|Invalid Input|Out of Range|IO|Transaction) Error\b/,
  ],
  ["JS error class", /\b(?:TypeError|ReferenceError|RangeError|SyntaxError|NotCapable|PermissionDenied)\b/],
];

export function leakProblems(text: string, echo = "", extra: string[] = [], isError = true): string[] {
  const out: string[] = [];
  // Success bodies may name the warehouse kind (GET /health does, by design); errors never name the engine.
  for (const [what, re] of isError ? [...LEAKS, ["engine name", /duckdb|bigquery/i] as [string, RegExp]] : LEAKS) {
    const m = re.exec(text);
    if (m && !echo.includes(m[0])) out.push(`${what}: ${JSON.stringify(m[0].slice(0, 80))}`);
  }
  for (const s of extra) if (s && text.includes(s) && !echo.includes(s)) out.push(`internal value ${s.slice(0, 40)}`);
  return out;
}

const CENTRAL = "organizations";

/** Every row that belongs to `slug`: its rows in each central table, and every table of its dataset. */
export async function snapshotOrg(wh: Warehouse, slug: string, datasetSuffix = "local"): Promise<string> {
  const out: Record<string, unknown[]> = {};
  const tables = pipelines["setup/bootstrap"].tables as Record<string, { fields: readonly { name: string }[] }>;
  for (const [name, schema] of Object.entries(tables)) {
    if (!(await wh.tableExists(CENTRAL, name))) continue;
    const scoped = schema.fields.some((f) => f.name === "org_slug");
    const rows = await wh.query(
      `SELECT * FROM ${CENTRAL}.${name}${scoped ? " WHERE org_slug = @o" : ""}`,
      scoped ? { o: slug } : {},
    );
    out[`${CENTRAL}.${name}`] = sortRows(rows);
  }
  const dataset = `${slug}_${datasetSuffix}`;
  const own = await wh.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = @s ORDER BY table_name",
    { s: dataset },
  );
  for (const { table_name } of own) {
    out[`${dataset}.${table_name}`] = sortRows(await wh.query(`SELECT * FROM ${dataset}.${table_name}`));
  }
  return JSON.stringify(out);
}

function sortRows(rows: unknown[]): unknown[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

/** A loopback HTTP server that records every request and answers with `answer` (default 200 {}). */
export interface Recorder {
  readonly url: string;
  readonly port: number;
  readonly hits: { method: string; url: string; headers: Record<string, string>; body: string }[];
  close(): Promise<void>;
}

export function startRecorder(answer?: (req: Request) => Response | Promise<Response>): Recorder {
  const hits: Recorder["hits"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    hits.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers), body: await req.text() });
    return answer ? await answer(req) : Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    hits,
    close: () => server.shutdown(),
  };
}

/** A loopback TCP listener that only counts connections (anything that tries to reach it, TLS or not). */
export function startConnectionCounter(): { port: number; readonly count: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  (async () => {
    try {
      for await (const conn of listener) {
        count++;
        conn.close();
      }
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get count() {
      return count;
    },
    close: () => listener.close(),
  };
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

/** The first file under `dir` whose bytes contain `needle`, or undefined. */
export async function foundUnder(dir: string, needle: string): Promise<string | undefined> {
  const n = new TextEncoder().encode(needle);
  for (const f of await filesUnder(dir)) {
    const bytes = await Deno.readFile(f);
    if (indexOf(bytes, n) >= 0) return f;
  }
  return undefined;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first!); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Status of one integration of `slug` as its owner sees it. */
export async function integrationStatus(h: SecurityHarness, slug: string, provider: string): Promise<string> {
  const r = await h.request("GET", `/api/v1/integrations/${slug}/${provider}`, { key: h.keys[slug]! });
  return r.json?.status;
}

/**
 * Replaces the global fetch for the duration of a test: every attempted URL is recorded, and only loopback hosts
 * are really contacted; anything else fails like an unreachable network, so a guard that does not hold shows up
 * as a recorded attempt, never as traffic off this machine.
 */
export function guardFetch(): { readonly attempts: string[]; offLoopback(): string[]; restore(): void } {
  const original = globalThis.fetch;
  const attempts: string[] = [];
  const loopback = (host: string) => host === "127.0.0.1" || host === "localhost" || host === "[::1]";
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    attempts.push(url.href);
    if (loopback(url.hostname)) return original(input, init);
    return Promise.reject(new TypeError(`test network guard: no traffic to ${url.host}`));
  };
  return {
    attempts,
    offLoopback: () => attempts.filter((a) => !loopback(new URL(a).hostname)),
    restore() {
      globalThis.fetch = original;
    },
  };
}
