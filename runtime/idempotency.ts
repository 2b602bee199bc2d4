/**
 * `Idempotency-Key` for mutating requests (the root key's POSTs under `/organizations/*`, onboarding first).
 *
 * The first request with a key claims it (a pending row in `organizations.org_idempotency_keys`), runs, and
 * stores its 2xx response (status and body) for 24 h; any one-time secret in the body (`api_key`) is stored only
 * as a vault ciphertext bound to the key (AAD `org_slug|IDEMPOTENCY_KEY:{scope}:{key}`). A repeat with the same
 * key and the same request (method, path, canonical JSON body) gets the stored response again, with header
 * `Idempotent-Replayed: true`; the same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`. A handler
 * that writes in one transaction stores the response inside it (the {@link CommitHook}), so the answer commits
 * with the writes and a crash right after the commit cannot lose the one-time key. A request
 * that fails (4xx or 5xx) stores nothing and frees the key: onboarding is all-or-nothing, so running it again is
 * safe. Two requests with one key never both run: in this process the second waits for the first (up to
 * {@link WAIT_MS}) and then replays its answer; across processes, or after that wait, it is 409
 * `IDEMPOTENCY_IN_PROGRESS` with `Retry-After`. A pending claim older than {@link STALE_MS} (its process died)
 * is taken over. Keys are scoped per caller (`_root` for the root key, else the org) and forgotten after 24 h.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../src/errors/mod.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import { sha256Hex } from "../src/orgs/keys.ts";
import type { WarehouseTx } from "../src/warehouse/warehouse.ts";
import type { HeldKey, StoredResponse } from "../src/central/idempotency.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** How long a stored response is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** How long a second request with the key of a running one (same process) waits before 409. */
export const WAIT_MS = 30_000;
/** A pending claim older than this belongs to a process that died (the onboarding pipeline's `timeout_minutes`). */
export const STALE_MS = 5 * 60_000;
const KEY_SHAPE = /^[A-Za-z0-9._:-]{1,255}$/;
/** Response fields holding a one-time secret: stored only encrypted. */
const SECRET_FIELDS = ["api_key"] as const;
const SLUG = /^[a-z][a-z0-9_]{2,49}$/;

/** Requests of this process holding a key right now, by `scope \n key`. */
const running = new Map<string, Promise<void>>();

/**
 * The request's `Idempotency-Key`, or undefined when it has none.
 * @throws {AppError} VALIDATION_ERROR (400) when the header is empty, longer than 255 characters or has other characters than
 *   letters, digits, `.`, `_`, `:` and `-` (the value is never echoed)
 */
export function readIdempotencyKey(c: Context): string | undefined {
  const value = c.req.header(IDEMPOTENCY_HEADER);
  if (value === undefined) return undefined;
  if (!KEY_SHAPE.test(value)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Header "${IDEMPOTENCY_HEADER}": expected 1-255 letters, digits, ".", "_", ":" or "-" (e.g. a UUID)`,
    );
  }
  return value;
}

/** Whether a route honours `Idempotency-Key`: the POSTs under `/api/v1/organizations/`. */
export function takesIdempotencyKey(method: string, path: string): boolean {
  return method.toUpperCase() === "POST" && path.startsWith("/api/v1/organizations/");
}

/** Hex SHA-256 of method, path and the body as canonical JSON (key order and whitespace do not matter). */
export function requestHash(method: string, path: string, body: unknown): string {
  return sha256Hex(JSON.stringify([method.toUpperCase(), path, canonical(body)]));
}

/**
 * Stores the response inside the caller's own transaction, so it commits with the writes (or not at all):
 * a process killed right after the commit still has the answer, and its one-time key, for the retry.
 */
export type CommitHook = (tx: WarehouseTx, response: Record<string, unknown>) => Promise<void>;

/**
 * Runs `run` at most once per `Idempotency-Key` of the caller (see the module doc); without the header it just
 * runs. `body` is the parsed request body; `run` gets a {@link CommitHook} (absent without the header) to call
 * inside its transaction with its response, which is then stored with `status`.
 */
export async function idempotent(
  c: Context<AppEnv>,
  deps: AppDeps,
  body: unknown,
  status: number,
  run: (hook?: CommitHook) => Promise<Response>,
): Promise<Response> {
  const key = readIdempotencyKey(c);
  const identity = c.get("auth");
  if (key === undefined || !identity || identity.kind === "none") return await run();
  // Before bootstrap there is no table to keep keys in (and the request itself is refused).
  if (!(await deps.stores.idempotency.ready())) return await run();
  const scope = identity.kind === "root" ? "_root" : identity.orgSlug;
  const hash = requestHash(c.req.method, c.req.path, body);
  const local = `${scope}\n${key}`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const row = await deps.stores.idempotency.find(scope, key, deps.now());
    if (row) {
      if (row.request_hash !== hash) {
        throw new AppError(
          "IDEMPOTENCY_KEY_REUSED",
          `Header "${IDEMPOTENCY_HEADER}" was already used for a different request (method, path or body); use a new key`,
        );
      }
      if (row.status_code !== null) return await replay(c, deps, scope, key, row);
      const other = running.get(local);
      if (other && Date.now() < deadline) {
        await Promise.race([other, sleep(deadline - Date.now())]);
        continue;
      }
      if (!other && deps.now().getTime() - Date.parse(row.created_at) > STALE_MS) {
        await deps.stores.idempotency.release(scope, key, String(row.response?.claim_id ?? ""));
        continue;
      }
      throw inProgress();
    }
    const other = running.get(local);
    if (!other) break;
    await Promise.race([other, sleep(Math.max(0, deadline - Date.now()))]);
    if (Date.now() >= deadline) throw inProgress();
  }
  let done!: () => void;
  running.set(local, new Promise<void>((resolve) => (done = resolve)));
  try {
    const held = await claim(deps, scope, key, hash, c.req.method, c.req.path);
    let stored = false;
    const hook: CommitHook = async (tx, response) => {
      await store(tx, deps, held, status, response);
      stored = true;
    };
    let res: Response;
    try {
      res = await run(hook);
    } catch (err) {
      await deps.stores.idempotency.release(scope, key, held.claimId).catch(() => {});
      throw err;
    }
    if (res.status >= 200 && res.status < 300) {
      if (!stored) {
        try {
          await deps.warehouse.transaction((tx) => store(tx, deps, held, res.status, res.clone().json()));
        } catch (err) {
          // The work is done and its answer (maybe a one-time key) must reach the caller: log and answer anyway.
          deps.logger.error("storing an idempotent response failed; a retry with its key runs again", {
            request_id: c.get("requestId"),
            error: err instanceof Error ? err.message : String(err),
          });
          await deps.stores.idempotency.release(scope, key, held.claimId).catch(() => {});
        }
      }
    } else await deps.stores.idempotency.release(scope, key, held.claimId).catch(() => {});
    return res;
  } finally {
    running.delete(local);
    done();
  }
}

function inProgress(): AppError {
  return new AppError(
    "IDEMPOTENCY_IN_PROGRESS",
    `A request with this "${IDEMPOTENCY_HEADER}" is still running; retry shortly to get its response`,
    { retryAfterS: 1 },
  );
}

/** Claims the key with a pending row; 409 when another process claimed it at the same time (the earliest wins). */
async function claim(
  deps: AppDeps,
  scope: string,
  key: string,
  hash: string,
  method: string,
  path: string,
): Promise<HeldKey> {
  const now = deps.now();
  // Claim ids sort by time, so a later claim never wins over one that already checked.
  const claimId = `${now.toISOString()}_${crypto.randomUUID()}`;
  const held: HeldKey = {
    scope,
    key,
    claimId,
    hash,
    method,
    path,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
  };
  if (!(await deps.stores.idempotency.claim(held, now))) throw inProgress();
  return held;
}

/** Replaces the pending row by the response (`body` may be a promise), its secrets sealed by the vault. */
async function store(
  tx: WarehouseTx,
  deps: AppDeps,
  held: HeldKey,
  status: number,
  body: Record<string, unknown> | Promise<Record<string, unknown>>,
): Promise<void> {
  const plain = await body;
  const sealed: Record<string, unknown> = { ...plain };
  for (const field of SECRET_FIELDS) {
    const secret = plain[field];
    if (typeof secret === "string") {
      sealed[field] = { vault: await deps.vault.encrypt(secret, aad(held.scope, held.key, plain)) };
    }
  }
  await deps.stores.idempotency.storeIn(tx, held, status, sealed);
}

async function replay(c: Context, deps: AppDeps, scope: string, key: string, row: StoredResponse): Promise<Response> {
  const body: Record<string, unknown> = { ...row.response };
  for (const field of SECRET_FIELDS) {
    const v = body[field] as { vault?: unknown } | undefined;
    if (v && typeof v === "object" && typeof v.vault === "string") {
      body[field] = await deps.vault.decrypt(v.vault, aad(scope, key, body));
    }
  }
  c.header("Idempotent-Replayed", "true");
  return c.json(body, row.status_code as ContentfulStatusCode);
}

/** The vault context of a stored secret: the org it belongs to and the idempotency key that keeps it. */
function aad(scope: string, key: string, body: Record<string, unknown>) {
  const org = typeof body.org_slug === "string" && SLUG.test(body.org_slug) ? body.org_slug : "idempotency";
  return { org_slug: org, provider: `IDEMPOTENCY_KEY:${scope}:${key}` };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    Deno.unrefTimer(t);
  });
}
