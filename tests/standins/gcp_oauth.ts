/**
 * A local stand-in for Google's OAuth2 token endpoint (`POST /token`) for the
 * service-account JWT-bearer grant (RFC 7523), as Google answers it:
 *
 * - form body `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`
 * - the JWT is checked like Google does: RS256, a known `iss` (client_email), the
 *   signature against that account's public key, `aud`, a `scope`, and `exp - iat <= 3600`
 *   with `iat` near now
 * - success `{access_token, expires_in: 3599, token_type: "Bearer"}`; failures
 *   `400 {error: "invalid_grant" | "unsupported_grant_type" | "invalid_request", error_description}`
 *
 * `generateTestServiceAccount()` makes a key pair with WebCrypto and the matching key
 * file. Test fixture, not product code.
 */
import { type FaultOptions, serveStandIn, type StandIn } from "../providers/standin_kit.ts";

const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** A generated service account: its key file JSON and public key. */
export interface TestServiceAccount {
  /** The key file, as a user would paste it. */
  json: string;
  clientEmail: string;
  keyId: string;
  publicKey: CryptoKey;
}

/** Makes an RSA-2048 key pair and a service account key file for it (`token_uri` Google's by default). */
export async function generateTestServiceAccount(
  options: { projectId?: string; clientEmail?: string; tokenUri?: string } = {},
): Promise<TestServiceAccount> {
  const projectId = options.projectId ?? "convergence-standin";
  const clientEmail = options.clientEmail ?? `billing-reader@${projectId}.iam.gserviceaccount.com`;
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const b64 = btoa(String.fromCharCode(...pkcs8)).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  const keyId = [...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const json = JSON.stringify(
    {
      type: "service_account",
      project_id: projectId,
      private_key_id: keyId,
      private_key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
      client_email: clientEmail,
      client_id: "1" + String(Math.abs(hash(clientEmail))).padStart(20, "0"),
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: options.tokenUri ?? GOOGLE_TOKEN_URI,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
      universe_domain: "googleapis.com",
    },
    null,
    2,
  );
  return { json, clientEmail, keyId, publicKey: pair.publicKey };
}

/** Options of `startGcpOAuthStandIn`; fault modes as in `FaultOptions`. */
export interface GcpOAuthStandInOptions extends FaultOptions {
  /** Known service accounts: client_email -> public key (any key id accepted). */
  accounts?: Record<string, CryptoKey>;
  /** Accepted `aud` values; default this stand-in's token URL and Google's. */
  audiences?: string[];
  /** Clock for `iat`/`exp` checks; default `Date.now`. */
  now?: () => number;
}

/** A running token endpoint stand-in; pass `tokenUri` as `GCP_TOKEN_URI`. */
export interface GcpOAuthStandIn extends StandIn {
  readonly tokenUri: string;
  /** Access tokens handed out, with the account they belong to. */
  readonly issued: { access_token: string; client_email: string; scope: string }[];
  /** Registers another service account's public key. */
  addAccount(clientEmail: string, publicKey: CryptoKey): void;
}

/** Starts the stand-in on a random local port. */
export function startGcpOAuthStandIn(options: GcpOAuthStandInOptions = {}): GcpOAuthStandIn {
  const { accounts = {}, audiences, now = Date.now, ...faults } = options;
  const known = new Map(Object.entries(accounts));
  const issued: GcpOAuthStandIn["issued"] = [];
  let tokenUri = "";
  const standIn = serveStandIn({ ...faults }, (status, kind, message) =>
    Response.json(
      kind === "rate_limit"
        ? { error: "rate_limit_exceeded", error_description: message }
        : { error: "internal_failure", error_description: message },
      { status },
    ), async (req, rec) => {
    if (req.method !== "POST" || rec.path !== "/token") return new Response("Not Found", { status: 404 });
    const form = new URLSearchParams(rec.body);
    if (form.get("grant_type") !== GRANT_TYPE) {
      return grantError("unsupported_grant_type", `Invalid grant_type: ${form.get("grant_type") ?? ""}`);
    }
    const assertion = form.get("assertion") ?? "";
    const parts = assertion.split(".");
    if (parts.length !== 3) return grantError("invalid_request", "Invalid assertion format");
    const [headerB64 = "", claimsB64 = "", signatureB64 = ""] = parts;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(fromBase64url(headerB64)));
      claims = JSON.parse(new TextDecoder().decode(fromBase64url(claimsB64)));
    } catch {
      return grantError("invalid_request", "Invalid JWT: could not decode header or claims");
    }
    if (header.alg !== "RS256") return grantError("invalid_grant", "Invalid JWT: algorithm must be RS256");
    const publicKey = known.get(String(claims.iss));
    if (publicKey === undefined) return grantError("invalid_grant", "Invalid grant: account not found");
    const signed = new TextEncoder().encode(`${headerB64}.${claimsB64}`);
    const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", publicKey, fromBase64url(signatureB64), signed);
    if (!ok) return grantError("invalid_grant", "Invalid JWT Signature.");
    const accepted = audiences ?? [tokenUri, GOOGLE_TOKEN_URI];
    if (!accepted.includes(String(claims.aud))) {
      return grantError("invalid_grant", `Invalid JWT: Failed audience check. The right audience is ${accepted[0]}`);
    }
    const nowS = Math.floor(now() / 1000);
    const { iat, exp } = claims;
    if (
      typeof iat !== "number" || typeof exp !== "number" || exp - iat > 3600 || exp <= nowS ||
      Math.abs(iat - nowS) > 300
    ) {
      return grantError(
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
      );
    }
    if (typeof claims.scope !== "string" || claims.scope === "") {
      return grantError("invalid_scope", "Empty or missing scope not allowed.");
    }
    const token = `ya29.standin-${[...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16)).join("")}`;
    issued.push({ access_token: token, client_email: String(claims.iss), scope: claims.scope });
    return Response.json({ access_token: token, expires_in: 3599, token_type: "Bearer" });
  });
  tokenUri = `${standIn.url}/token`;
  return Object.assign(standIn, {
    tokenUri,
    issued,
    addAccount(clientEmail: string, publicKey: CryptoKey) {
      known.set(clientEmail, publicKey);
    },
  });
}

function grantError(error: string, description: string): Response {
  return Response.json({ error, error_description: description }, { status: 400 });
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function hash(text: string): number {
  let h = 7;
  for (const ch of text) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}
