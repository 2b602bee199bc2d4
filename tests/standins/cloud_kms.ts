/**
 * A local stand-in for the Cloud KMS REST API (v1), enough for symmetric
 * encrypt/decrypt as the official client sends them over HTTP/JSON:
 *
 * - `POST /v1/{cryptoKey name}:encrypt` `{plaintext, additionalAuthenticatedData,
 *   plaintextCrc32c?, additionalAuthenticatedDataCrc32c?}` (bytes as base64,
 *   int64 as strings) -> `{name, ciphertext, ciphertextCrc32c,
 *   verifiedPlaintextCrc32c, verifiedAdditionalAuthenticatedDataCrc32c, protectionLevel}`
 * - `POST /v1/{cryptoKey name}:decrypt` `{ciphertext, additionalAuthenticatedData, ...Crc32c?}`
 *   -> `{plaintext, plaintextCrc32c, usedPrimary, protectionLevel}`
 * - errors as Google APIs send them: `{error: {code, message, status}}`, e.g.
 *   400 INVALID_ARGUMENT when the ciphertext or AAD does not match.
 *
 * Backed by its own random AES-256-GCM key; the CryptoKey name is bound into
 * each ciphertext, so one key cannot decrypt another's. Every request is
 * recorded; requests to any other path (a metadata server, say) are recorded
 * in `unexpected` and answered 404.
 */
import { crc32c } from "../../src/vault/_crc32c.ts";

/** One recorded KMS call. */
export interface KmsCall {
  rpc: "encrypt" | "decrypt";
  keyName: string;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** A running stand-in. */
export interface CloudKmsStandin {
  readonly port: number;
  /** Options that point CloudKmsKeyWrapper (or the KMS client) at the stand-in. */
  readonly clientOptions: { apiEndpoint: string; port: number; protocol: "http"; apiKey: string };
  readonly calls: KmsCall[];
  readonly unexpected: string[];
  /** When set, answers calls instead of the stand-in (fault injection). */
  override: ((call: KmsCall) => Response | undefined) | undefined;
  close(): Promise<void>;
}

const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const ROUTE = /^\/v1\/(.+):(encrypt|decrypt)$/;
const MAX_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** A Google API error response. */
export function googleError(http: number, status: string, message: string): Response {
  return Response.json({ error: { code: http, message, status } }, { status: http });
}

/** Starts the stand-in on a random local port. */
export async function startCloudKmsStandin(): Promise<CloudKmsStandin> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const calls: KmsCall[] = [];
  const unexpected: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const route = ROUTE.exec(decodeURIComponent(url.pathname));
    if (req.method !== "POST" || !route || !KEY_NAME.test(route[1]!)) {
      unexpected.push(`${req.method} ${url.pathname}`);
      return googleError(404, "NOT_FOUND", `Unknown path ${url.pathname}`);
    }
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      return googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received");
    }
    const call: KmsCall = {
      rpc: route[2] as KmsCall["rpc"],
      keyName: route[1]!,
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body,
    };
    calls.push(call);
    const overridden = standin.override?.(call);
    if (overridden) return overridden;
    if (!req.headers.get("x-goog-api-key") && !req.headers.get("authorization")) {
      return googleError(401, "UNAUTHENTICATED", "Request is missing required authentication credential");
    }
    return call.rpc === "encrypt" ? await encrypt(key, call) : await decrypt(key, call);
  });
  const port = server.addr.port;
  const standin: CloudKmsStandin = {
    port,
    clientOptions: { apiEndpoint: "127.0.0.1", port, protocol: "http", apiKey: "standin-api-key" },
    calls,
    unexpected,
    override: undefined,
    close: () => server.shutdown(),
  };
  return standin;
}

async function encrypt(key: CryptoKey, call: KmsCall): Promise<Response> {
  const plaintext = field(call.body, "plaintext");
  const aad = field(call.body, "additionalAuthenticatedData") ?? new Uint8Array();
  if (!plaintext?.length || plaintext.length > MAX_BYTES || aad.length > MAX_BYTES) {
    return googleError(400, "INVALID_ARGUMENT", "plaintext must be 1 to 65536 bytes");
  }
  const checked = checkCrcs(call.body, { plaintext, additionalAuthenticatedData: aad });
  if (checked instanceof Response) return checked;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(gcm(iv, call.keyName, aad), key, plaintext);
  const ciphertext = new Uint8Array([...iv, ...new Uint8Array(sealed)]);
  return Response.json({
    name: `${call.keyName}/cryptoKeyVersions/1`,
    ciphertext: ciphertext.toBase64(),
    ciphertextCrc32c: String(crc32c(ciphertext)),
    verifiedPlaintextCrc32c: checked.has("plaintext"),
    verifiedAdditionalAuthenticatedDataCrc32c: checked.has("additionalAuthenticatedData"),
    protectionLevel: 1, // SOFTWARE; the client asks for numeric enums
  });
}

async function decrypt(key: CryptoKey, call: KmsCall): Promise<Response> {
  const ciphertext = field(call.body, "ciphertext");
  const aad = field(call.body, "additionalAuthenticatedData") ?? new Uint8Array();
  if (!ciphertext?.length) return googleError(400, "INVALID_ARGUMENT", "ciphertext is required");
  const checked = checkCrcs(call.body, { ciphertext, additionalAuthenticatedData: aad });
  if (checked instanceof Response) return checked;
  let plaintext: Uint8Array;
  try {
    const sealed = await crypto.subtle.decrypt(
      gcm(ciphertext.subarray(0, 12), call.keyName, aad),
      key,
      ciphertext.subarray(12),
    );
    plaintext = new Uint8Array(sealed);
  } catch {
    return googleError(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.");
  }
  return Response.json({
    plaintext: plaintext.toBase64(),
    plaintextCrc32c: String(crc32c(plaintext)),
    usedPrimary: true,
    protectionLevel: 1,
  });
}

/** Verifies each `<field>Crc32c` sent; returns the fields verified, or a 400. */
function checkCrcs(
  body: Record<string, unknown>,
  data: Record<string, Uint8Array>,
): Set<string> | Response {
  const verified = new Set<string>();
  for (const [name, bytes] of Object.entries(data)) {
    const sent = body[`${name}Crc32c`];
    if (sent === undefined) continue;
    if (String(sent) !== String(crc32c(bytes))) {
      return googleError(
        400,
        "INVALID_ARGUMENT",
        `The checksum in field ${name}_crc32c did not match the data in field ${name}.`,
      );
    }
    verified.add(name);
  }
  return verified;
}

function field(body: Record<string, unknown>, name: string): Uint8Array<ArrayBuffer> | undefined {
  const value = body[name];
  if (typeof value !== "string") return undefined;
  try {
    return Uint8Array.fromBase64(value) as Uint8Array<ArrayBuffer>;
  } catch {
    return undefined;
  }
}

function gcm(iv: Uint8Array, keyName: string, aad: Uint8Array): AesGcmParams {
  // Bind the CryptoKey name too: another key's ciphertext never decrypts here.
  const bound = new Uint8Array([...encoder.encode(keyName), 0, ...aad]);
  return { name: "AES-GCM", iv: iv as Uint8Array<ArrayBuffer>, additionalData: bound };
}
