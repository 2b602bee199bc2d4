/** A real app on a temp DATA_DIR (DuckDB file + local KEK), driven through app.request(); logs captured. */
import { createApp } from "../../runtime/app.ts";
import { loadSettings } from "../../runtime/config.ts";
import { Logger } from "../../runtime/logger.ts";
import { buildDeps } from "../../runtime/server.ts";
import type { AppDeps } from "../../runtime/context.ts";
import { join } from "node:path";
import { openWarehouse } from "../../src/warehouse/mod.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import type { Processor } from "../../src/processors/registry.ts";

export const ROOT = "test-root-key-0123456789abcdef0123456789";

export interface Harness {
  readonly deps: AppDeps;
  /** Method and Hono path of every mounted route. */
  readonly mounted: Set<string>;
  readonly logs: string[];
  readonly dataDir: string;
  request(
    method: string,
    path: string,
    opts?: AppRequest,
    // deno-lint-ignore no-explicit-any -- response bodies are arbitrary JSON that each test inspects
  ): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  bootstrap(): Promise<void>;
  onboard(slug: string, plan?: string): Promise<string>;
  /** Sets up one integration of `org` with its org key (`body` as the setup route takes it); throws unless 200. */
  setup(org: string, provider: string, key: string, body: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** What a test may send through `requestApp`: an org key, the root key (`true`: ROOT), a JSON body or raw text. */
export interface AppRequest {
  key?: string;
  root?: string | boolean;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** The onboard request body of a test org: its slug, a company name and an admin address derived from it. */
export function onboardBody(slug: string, plan: string): Record<string, string> {
  return {
    org_slug: slug,
    company_name: `${slug} Inc`,
    admin_email: `ops@${slug.replaceAll("_", "-")}.test`,
    subscription_plan: plan,
  };
}

/** One request through `app.request()` (no network): the status, the body as text and parsed JSON, the headers. */
export async function requestApp(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  method: string,
  path: string,
  opts: AppRequest = {},
  // deno-lint-ignore no-explicit-any -- response bodies are arbitrary JSON that each test inspects
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers["X-API-Key"] = opts.key;
  if (opts.root) headers["X-CA-Root-Key"] = opts.root === true ? ROOT : opts.root;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined && method !== "GET" && method !== "HEAD") body = JSON.stringify(opts.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * `opts.warehouse` wraps the DuckDB warehouse of the temp DATA_DIR (e.g. to inject faults); `opts.retrySleep`
 * replaces the wait before a whole-run retry (default: none, so a pipeline's `retry:` backoff of minutes does not
 * hold a test up; its retries still happen).
 */
export async function startHarness(
  env: Record<string, string> = {},
  opts: {
    warehouse?: (inner: Warehouse) => Warehouse;
    retrySleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  } = {},
): Promise<Harness> {
  // A given DATA_DIR reopens an earlier harness's files (close the earlier warehouse first).
  const dataDir = env.DATA_DIR ?? await Deno.makeTempDir({ prefix: "conv-test-" });
  const { settings, problems } = loadSettings({ DATA_DIR: dataDir, CA_ROOT_API_KEY: ROOT, ...env });
  if (problems.length) throw new Error(problems.join("; "));
  const logs: string[] = [];
  const wrapped = opts.warehouse
    ? opts.warehouse(await openWarehouse({ kind: "duckdb", path: join(dataDir, "warehouse.duckdb") }))
    : undefined;
  const deps = await buildDeps(settings, new Logger({ sink: (l) => logs.push(l) }), wrapped, {
    sleep: opts.retrySleep ?? (() => Promise.resolve()),
  });
  const app = await createApp(deps);
  const h: Harness = {
    deps,
    mounted: new Set(app.routes.map((r) => `${r.method} ${r.path}`)),
    logs,
    dataDir,
    request: (method, path, opts = {}) => requestApp(app, method, path, opts),
    async bootstrap() {
      const r = await h.request("POST", "/api/v1/admin/bootstrap", { root: true, body: {} });
      if (r.status !== 200) throw new Error(`bootstrap failed: ${r.status} ${r.text}`);
    },
    async setup(org, provider, key, body) {
      const r = await h.request("POST", `/api/v1/integrations/${org}/${provider}/setup`, { key, body });
      if (r.status !== 200) throw new Error(`${provider} setup failed: ${r.status} ${r.text}`);
    },
    async onboard(slug, plan = "STARTER") {
      const r = await h.request("POST", "/api/v1/organizations/onboard", { root: true, body: onboardBody(slug, plan) });
      if (r.status !== 201) throw new Error(`onboard failed: ${r.status} ${r.text}`);
      return r.json.api_key;
    },
    async close() {
      await deps.warehouse.close().catch(() => {});
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
  return h;
}

/**
 * Holds the first step of each pipeline in `paths` on every stack until the returned function is called, so a run
 * accepted first still holds its slot while the others claim (a quick run could otherwise end, legitimately freeing
 * it). A processor shared by several pipelines or stacks is wrapped once.
 */
export function holdFirstSteps(stacks: readonly AppDeps[], paths: readonly string[]): () => void {
  const modules = pipelines as Record<string, PipelineModule>;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const restore: (() => void)[] = [];
  const seen = new Set<unknown>();
  for (const s of stacks) {
    for (const p of paths) {
      const processor = s.processors.get(modules[p]!.steps[0]!.psType)! as { run: Processor["run"] };
      if (seen.has(processor)) continue;
      seen.add(processor);
      const run = processor.run;
      processor.run = async (ctx, config) => {
        await gate;
        return await run(ctx, config);
      };
      restore.push(() => (processor.run = run));
    }
  }
  return () => {
    for (const r of restore.reverse()) r();
    open();
  };
}
