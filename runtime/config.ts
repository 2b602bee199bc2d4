/**
 * Settings from the environment (SPEC section 3). `loadSettings` never throws on a bad value:
 * it returns every problem so start-up can list them all and exit non-zero.
 */

import { ipRefusalReason } from "../src/notify/ip.ts";
import { BASE_URL_SETTINGS, type BaseUrls } from "../src/providers/catalogue.ts";

export type Environment = "development" | "staging" | "production";

/** The runtime settings; the providers' base URLs (`openaiBaseUrl`, ...) come from the catalogue's `BaseUrls`. */
export interface Settings extends BaseUrls {
  readonly port: number;
  readonly environment: Environment;
  /** Dataset suffix: local, stage or prod. */
  readonly datasetSuffix: "local" | "stage" | "prod";
  readonly rootApiKey?: string;
  /** The root key being rotated out: accepted beside `rootApiKey` until it is removed. */
  readonly previousRootApiKey?: string;
  readonly disableAuth: boolean;
  readonly rateLimitEnabled: boolean;
  /** Sustained requests per second per org and the burst size. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /**
   * Proxies in front of the service that append the client's address to `X-Forwarded-For` (0: none, the socket's
   * address is the client). With N, the per-client limit keys on the N-th address from the right.
   */
  readonly trustedProxyHops: number;
  readonly corsOrigins: readonly string[];
  readonly dataDir: string;
  readonly warehouse: "duckdb" | "bigquery";
  readonly gcpProjectId?: string;
  readonly bigqueryLocation: string;
  readonly kmsKeyName?: string;
  readonly gcpTokenUri?: string;
  readonly schedulerEnabled: boolean;
  /**
   * Scheduled runs at once in this process, claims per item when its start keeps breaking, and how many days back
   * start-up enqueues the schedule's missed ticks. Failed runs are retried by the pipeline's own `retry:`.
   */
  readonly scheduler: {
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly catchupDays: number;
  };
  readonly maxBodyBytes: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

export interface LoadedSettings {
  readonly settings: Settings;
  readonly problems: string[];
}

const SUFFIX = { development: "local", staging: "stage", production: "prod" } as const;

function bool(env: Record<string, string | undefined>, name: string, fallback: boolean, problems: string[]): boolean {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  problems.push(`${name} must be true or false, not "${v}"`);
  return fallback;
}

function int(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, not "${v}"`);
    return fallback;
  }
  return n;
}

function url(
  env: Record<string, string | undefined>,
  name: string,
  fallback: string | undefined,
  problems: string[],
): string | undefined {
  const v = env[name] || fallback;
  if (v === undefined) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
    return v.replace(/\/+$/, "");
  } catch {
    problems.push(`${name} must be an http(s) URL, not "${v}"`);
    return fallback;
  }
}

function logLevel(v: string | undefined, problems: string[]): Settings["logLevel"] {
  if (!v) return "info";
  if (v === "debug" || v === "info" || v === "warn" || v === "error") return v;
  problems.push(`LOG_LEVEL must be debug, info, warn or error, not "${v}"`);
  return "info";
}

/** Every variable the settings read (the Dockerfile's --allow-env lists these, plus the notifiers' and libraries'). */
export const SETTINGS_ENV = [
  "PORT",
  "ENVIRONMENT",
  "CA_ROOT_API_KEY",
  "CA_ROOT_API_KEY_PREVIOUS",
  "DISABLE_AUTH",
  "RATE_LIMIT_ENABLED",
  "RATE_LIMIT_PER_SECOND",
  "RATE_LIMIT_BURST",
  "TRUSTED_PROXY_HOPS",
  "CORS_ORIGINS",
  "DATA_DIR",
  "MAX_BODY_BYTES",
  "WAREHOUSE",
  "GCP_PROJECT_ID",
  "BIGQUERY_LOCATION",
  "KMS_KEY_NAME",
  "KMS_PROJECT_ID",
  "KMS_LOCATION",
  "KMS_KEYRING",
  "KMS_KEY",
  ...BASE_URL_SETTINGS.map((b) => b.setting),
  "GCP_TOKEN_URI",
  "SCHEDULER_ENABLED",
  "SCHEDULER_CONCURRENCY",
  "SCHEDULER_MAX_ATTEMPTS",
  "SCHEDULER_CATCHUP_DAYS",
  "LOG_LEVEL",
] as const;

/** Variables the libraries read on their own (google-logging-utils at import, google-auth-library, gax). */
export const LIBRARY_ENV = [
  "GOOGLE_SDK_NODE_LOGGING",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
  "GOOGLE_CLOUD_QUOTA_PROJECT",
  "NO_COLOR",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_NODE_DEBUG_SEND_ERROR_DETAILS",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_TRACE",
  "GRPC_NODE_TRACE",
  "GRPC_VERBOSITY",
  "GRPC_NODE_VERBOSITY",
  "READABLE_STREAM",
  "TEENY_REQUEST_WARN_CONCURRENT_REQUESTS",
  "DEBUG",
] as const;

/** The settings variables by name (works under a narrowed --allow-env; an unreadable one counts as unset). */
export function readEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of SETTINGS_ENV) {
    try {
      out[name] = Deno.env.get(name);
    } catch {
      out[name] = undefined;
    }
  }
  return out;
}

/** Reads settings from `env`, collecting every problem (production rules included). */
export function loadSettings(env: Record<string, string | undefined> = readEnv()): LoadedSettings {
  const problems: string[] = [];
  const envName = (env.ENVIRONMENT || "development") as Environment;
  if (!(envName in SUFFIX)) {
    problems.push(`ENVIRONMENT must be development, staging or production, not "${env.ENVIRONMENT}"`);
  }
  const environment: Environment = envName in SUFFIX ? envName : "development";
  let corsOrigins: string[] = [];
  if (env.CORS_ORIGINS) {
    try {
      const parsed = JSON.parse(env.CORS_ORIGINS);
      if (!Array.isArray(parsed) || !parsed.every((o) => typeof o === "string" && /^https?:\/\/[^/\s]+$/.test(o))) {
        throw new Error();
      }
      corsOrigins = parsed;
    } catch {
      problems.push(`CORS_ORIGINS must be a JSON list of origins like ["https://app.example.com"]`);
    }
  }
  const warehouse = env.WAREHOUSE || "duckdb";
  if (warehouse !== "duckdb" && warehouse !== "bigquery") {
    problems.push(`WAREHOUSE must be duckdb or bigquery, not "${warehouse}"`);
  }
  const kmsParts = ["KMS_PROJECT_ID", "KMS_LOCATION", "KMS_KEYRING", "KMS_KEY"].map((k) => env[k]);
  const kmsKeyName = env.KMS_KEY_NAME ||
    (kmsParts.every(Boolean)
      ? `projects/${kmsParts[0]}/locations/${kmsParts[1]}/keyRings/${kmsParts[2]}/cryptoKeys/${kmsParts[3]}`
      : undefined);
  const settings: Settings = {
    port: int(env, "PORT", 8000, 0, 65535, problems),
    environment,
    datasetSuffix: SUFFIX[environment],
    ...(env.CA_ROOT_API_KEY ? { rootApiKey: env.CA_ROOT_API_KEY } : {}),
    ...(env.CA_ROOT_API_KEY_PREVIOUS ? { previousRootApiKey: env.CA_ROOT_API_KEY_PREVIOUS } : {}),
    disableAuth: bool(env, "DISABLE_AUTH", false, problems),
    rateLimitEnabled: bool(env, "RATE_LIMIT_ENABLED", true, problems),
    rateLimit: {
      perSecond: int(env, "RATE_LIMIT_PER_SECOND", 50, 1, 100_000, problems),
      burst: int(env, "RATE_LIMIT_BURST", 200, 1, 1_000_000, problems),
    },
    trustedProxyHops: int(env, "TRUSTED_PROXY_HOPS", 0, 0, 10, problems),
    corsOrigins,
    dataDir: env.DATA_DIR || "./data",
    warehouse: warehouse === "bigquery" ? "bigquery" : "duckdb",
    ...(env.GCP_PROJECT_ID ? { gcpProjectId: env.GCP_PROJECT_ID } : {}),
    bigqueryLocation: env.BIGQUERY_LOCATION || "US",
    ...(kmsKeyName ? { kmsKeyName } : {}),
    ...Object.fromEntries(
      BASE_URL_SETTINGS.map((b) => [b.field, url(env, b.setting, b.default, problems)!]),
    ) as unknown as BaseUrls,
    ...(env.GCP_TOKEN_URI ? { gcpTokenUri: url(env, "GCP_TOKEN_URI", undefined, problems)! } : {}),
    schedulerEnabled: bool(env, "SCHEDULER_ENABLED", true, problems),
    scheduler: {
      concurrency: int(env, "SCHEDULER_CONCURRENCY", 4, 1, 256, problems),
      maxAttempts: int(env, "SCHEDULER_MAX_ATTEMPTS", 3, 1, 10, problems),
      catchupDays: int(env, "SCHEDULER_CATCHUP_DAYS", 3, 0, 31, problems),
    },
    maxBodyBytes: int(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024, problems),
    logLevel: logLevel(env.LOG_LEVEL, problems),
  };
  if (environment === "production") problems.push(...productionProblems(settings));
  else if (environment !== "development" && settings.disableAuth) {
    problems.push(`DISABLE_AUTH must be false outside development (ENVIRONMENT is "${environment}")`);
  }
  return { settings, problems };
}

/** The production rules of SPEC section 3 and the reference's validate_production_config. */
export function productionProblems(s: Settings): string[] {
  const p: string[] = [];
  if (!s.rootApiKey) p.push("CA_ROOT_API_KEY is required in production");
  else if (s.rootApiKey.length < 32) p.push("CA_ROOT_API_KEY must be at least 32 characters in production");
  if (s.previousRootApiKey !== undefined) {
    if (s.previousRootApiKey.length < 32) {
      p.push("CA_ROOT_API_KEY_PREVIOUS must be at least 32 characters in production");
    }
    if (s.previousRootApiKey === s.rootApiKey) p.push("CA_ROOT_API_KEY_PREVIOUS must differ from CA_ROOT_API_KEY");
  }
  if (s.disableAuth) p.push("DISABLE_AUTH must be false in production");
  if (!s.rateLimitEnabled) p.push("RATE_LIMIT_ENABLED must be true in production");
  if (s.warehouse !== "bigquery") p.push("WAREHOUSE must be bigquery in production");
  if (!s.gcpProjectId) p.push("GCP_PROJECT_ID is required in production");
  if (!s.kmsKeyName) {
    p.push("KMS_KEY_NAME (or KMS_PROJECT_ID, KMS_LOCATION, KMS_KEYRING and KMS_KEY) is required in production");
  }
  if (s.gcpTokenUri) p.push("GCP_TOKEN_URI is for testing only and is refused in production");
  for (const { setting: name, field } of BASE_URL_SETTINGS) {
    const value = s[field];
    if (!value.startsWith("https://")) p.push(`${name} must use https in production`);
    const host = new URL(value).hostname.replace(/^\[|\]$/g, "");
    const internal = /^(localhost|.+\.localhost|.+\.internal)$/i.test(host) || ipRefusalReason(host) !== undefined;
    if (internal) p.push(`${name} must not point at a loopback, private or link-local address in production`);
  }
  if (s.corsOrigins.some((o) => o.startsWith("http://"))) {
    p.push("CORS_ORIGINS must list https origins only in production");
  }
  return p;
}
