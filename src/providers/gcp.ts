/**
 * GCP service accounts: parsing the JSON key file and minting an OAuth2 access token
 * with the RS256 JWT-bearer grant (RFC 7523), signed with WebCrypto.
 */
import { z } from "zod";
import { ProviderHttp, type ProviderHttpOptions } from "./http.ts";
import { AppError } from "../errors/mod.ts";

/** Default OAuth2 scope. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const PROVIDER = "GCP";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const PEM = /^-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----\s*$/;

/** A service account's key file, validated. */
export interface ServiceAccount {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. Never log or echo it. */
  private_key: string;
  client_email: string;
  token_uri: string;
  client_id?: string;
}

/** A service account JSON that cannot be used (`SERVICE_ACCOUNT_INVALID`); the message never contains the key. */
function serviceAccountError(message: string, field?: string): AppError {
  return new AppError("SERVICE_ACCOUNT_INVALID", message, field === undefined ? {} : { field });
}

const nonEmpty = z.string().trim().min(1);
const serviceAccountSchema = z.object({
  type: z.literal("service_account"),
  project_id: nonEmpty,
  private_key_id: nonEmpty,
  private_key: z.string().regex(PEM),
  client_email: z.email(),
  token_uri: z.url({ protocol: /^https$/ }),
  client_id: z.string().optional(),
});

const FIELD_PROBLEMS: Record<string, string> = {
  type: 'must be "service_account"',
  private_key: "must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)",
  client_email: "must be an email address",
  token_uri: "must be an https URL",
};

/**
 * Parses and checks a service account key file (type, project_id, private_key_id,
 * private_key PEM, client_email, token_uri https URL).
 * @throws {AppError} `SERVICE_ACCOUNT_INVALID` naming the first bad field, never echoing the key material
 * @example const sa = parseServiceAccount(await Deno.readTextFile("sa.json"));
 */
export function parseServiceAccount(json: string): ServiceAccount {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // The SyntaxError quotes the input, so it is not passed on.
    throw serviceAccountError("Service account credential is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw serviceAccountError("Service account credential must be a JSON object");
  }
  const parsed = serviceAccountSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? "");
    const missing = !(field in raw) || (raw as Record<string, unknown>)[field] === undefined;
    const problem = missing ? "is missing" : FIELD_PROBLEMS[field] ?? "must be a non-empty string";
    throw serviceAccountError(`Service account credential is invalid: "${field}" ${problem}`, field);
  }
  return parsed.data;
}

/** Options of `mintAccessToken`. */
export interface MintAccessTokenOptions extends ProviderHttpOptions {
  /** Where to post the grant instead of `sa.token_uri` (`GCP_TOKEN_URI`, testing only). */
  tokenUri?: string;
  /** Default `https://www.googleapis.com/auth/cloud-platform`. */
  scope?: string;
  /** Shared transport; built from the other options when absent. */
  http?: ProviderHttp;
}

/** An OAuth2 access token. */
export interface AccessToken {
  access_token: string;
  expires_in: number;
  token_type: string;
}

const tokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
  token_type: z.string().default("Bearer"),
});
const REJECTED = new Set(["invalid_grant", "invalid_client", "unauthorized_client"]);

/**
 * Mints an access token: a JWT `{iss: client_email, scope, aud: token_uri, iat, exp: iat + 3600}`
 * signed RS256 with the service account key, posted form-encoded as a jwt-bearer grant.
 * @throws {ProviderError} `unauthorized` when Google rejects the grant (`invalid_grant`)
 * @throws {AppError} `SERVICE_ACCOUNT_INVALID` when the private key cannot be imported
 * @example const { access_token } = await mintAccessToken(parseServiceAccount(json));
 */
export async function mintAccessToken(sa: ServiceAccount, options: MintAccessTokenOptions = {}): Promise<AccessToken> {
  const tokenUri = new URL(options.tokenUri ?? sa.token_uri);
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const claims = {
    iss: sa.client_email,
    scope: options.scope ?? CLOUD_PLATFORM_SCOPE,
    aud: tokenUri.href,
    iat,
    exp: iat + 3600,
  };
  const assertion = await signJwt({ alg: "RS256", typ: "JWT", kid: sa.private_key_id }, claims, sa.private_key);
  const http = options.http ?? new ProviderHttp(options);
  return await http.request({
    provider: PROVIDER,
    endpoint: `POST ${tokenUri.host}${tokenUri.pathname}`,
    url: tokenUri,
    origin: tokenUri.origin,
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }),
    schema: tokenSchema,
    secrets: [sa.private_key, assertion],
    onErrorStatus: (status, body) => {
      const error = (body as { error?: unknown } | undefined)?.error;
      if ((status === 400 || status === 401) && typeof error === "string" && REJECTED.has(error)) {
        return { kind: "unauthorized", detail: `the service account key was rejected (${error})` };
      }
      return status === 401 ? { detail: "the service account key was rejected" } : undefined;
    },
  });
}

/** `base64url(header).base64url(claims).base64url(RS256 signature)`. */
export async function signJwt(header: object, claims: object, privateKeyPem: string): Promise<string> {
  const key = await importPrivateKey(privateKeyPem);
  const encoder = new TextEncoder();
  const signingInput = `${base64url(encoder.encode(JSON.stringify(header)))}.${
    base64url(encoder.encode(JSON.stringify(claims)))
  }`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, encoder.encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const body = PEM.exec(pem)?.[1];
  try {
    if (body === undefined) throw new Error("not PEM");
    const der = Uint8Array.from(atob(body.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    return await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, [
      "sign",
    ]);
  } catch {
    throw serviceAccountError('Service account "private_key" is not a usable RSA PKCS#8 key', "private_key");
  }
}

/** Unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
