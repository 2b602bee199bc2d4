/**
 * The production key wrapper: Cloud KMS `encrypt`/`decrypt` on a symmetric
 * CryptoKey, with the vault's AAD as `additionalAuthenticatedData`.
 *
 * The client always uses google-gax's HTTP/JSON REST transport
 * (`fallback: true`): it needs no gRPC/HTTP2 stack in Deno, and it is the
 * transport the tests exercise against a local stand-in. Requests carry
 * CRC32C checksums and responses are verified, as Google recommends.
 *
 * Note: in Deno, the client's per-call deadline timer keeps the event loop
 * alive until it fires, so a short-lived script that used this wrapper may
 * linger up to `timeoutMs` before exiting. A server is unaffected.
 */
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { crc32c } from "./_crc32c.ts";
import { DECRYPT_FAILED_MESSAGE, type KeyWrapper, vaultError } from "./vault.ts";
import type { AppError } from "../errors/mod.ts";

type KmsClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;
/** A google-auth-library `AuthClient` (e.g. impersonated credentials). */
export type KmsAuthClient = NonNullable<KmsClientOptions["authClient"]>;

/** Options of {@link CloudKmsKeyWrapper}. */
export interface CloudKmsKeyWrapperOptions {
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K` (see {@link kmsKeyName}). */
  keyName: string;
  /** Host (or `host:port`) of the API; default `cloudkms.googleapis.com`. */
  apiEndpoint?: string;
  /** Port of the API; default 443. */
  port?: number;
  /** `https` (default), or `http` for a local stand-in. */
  protocol?: "https" | "http";
  /** Total time per call, retries included, in ms; default 10000. */
  timeoutMs?: number;
  /** Credentials; default Application Default Credentials. */
  authClient?: KmsAuthClient;
  /** An API key sent as `X-Goog-Api-Key` instead of credentials (stand-ins). */
  apiKey?: string;
}

const KEY_NAME = /^projects\/([^/\s]+)\/locations\/[^/\s]+\/keyRings\/[^/\s]+\/cryptoKeys\/[^/\s]+$/;
const PARTS = ["KMS_PROJECT_ID", "KMS_LOCATION", "KMS_KEYRING", "KMS_KEY"] as const;
// gRPC status code meaning "this ciphertext or AAD is wrong", not "KMS is down".
const INVALID_ARGUMENT = 3;
const STATUS_NAMES = (
  "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS " +
  "PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE " +
  "UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED"
).split(" ");
const encoder = new TextEncoder();

/** Wraps data keys with a Cloud KMS CryptoKey. */
export class CloudKmsKeyWrapper implements KeyWrapper {
  readonly kind = "cloud_kms";
  readonly keyName: string;
  readonly #client: KeyManagementServiceClient;
  readonly #timeout: number;

  /** @throws {Error} when `keyName` is not a CryptoKey resource name */
  constructor(options: CloudKmsKeyWrapperOptions) {
    const match = KEY_NAME.exec(options.keyName);
    if (!match) {
      throw new Error(
        `Invalid Cloud KMS key name "${options.keyName}": expected projects/P/locations/L/keyRings/R/cryptoKeys/K`,
      );
    }
    this.keyName = options.keyName;
    this.#timeout = options.timeoutMs ?? 10_000;
    // projectId from the key name: google-auth-library then never shells out
    // to gcloud or asks the metadata server for one.
    const clientOptions: KmsClientOptions = { fallback: true, projectId: match[1] };
    if (options.apiEndpoint !== undefined) clientOptions.apiEndpoint = options.apiEndpoint;
    if (options.port !== undefined) clientOptions.port = options.port;
    if (options.protocol !== undefined) clientOptions.protocol = options.protocol;
    if (options.authClient !== undefined) clientOptions.authClient = options.authClient;
    if (options.apiKey !== undefined) clientOptions.apiKey = options.apiKey;
    this.#client = new KeyManagementServiceClient(clientOptions);
    // With GOOGLE_SDK_NODE_LOGGING=kms (or *) the client logs every request and
    // response in full, data keys included. Keys never go to a log: mute it.
    (this.#client as unknown as { _log: { info(): void } })._log = { info() {} };
  }

  async wrap(dataKey: Uint8Array, aad: string): Promise<Uint8Array> {
    const aadBytes = encoder.encode(aad);
    let response;
    try {
      [response] = await this.#client.encrypt({
        name: this.keyName,
        plaintext: dataKey,
        plaintextCrc32c: { value: crc32c(dataKey) },
        additionalAuthenticatedData: aadBytes,
        additionalAuthenticatedDataCrc32c: { value: crc32c(aadBytes) },
      }, { timeout: this.#timeout });
    } catch (error) {
      throw unavailable("encrypt", error);
    }
    const ciphertext = bytes(response.ciphertext);
    if (
      !response.verifiedPlaintextCrc32c ||
      !response.verifiedAdditionalAuthenticatedDataCrc32c ||
      !ciphertext?.length ||
      !sameCrc(response.ciphertextCrc32c, ciphertext)
    ) {
      throw corrupted("encrypt");
    }
    return ciphertext;
  }

  async unwrap(wrapped: Uint8Array, aad: string): Promise<Uint8Array> {
    const aadBytes = encoder.encode(aad);
    let response;
    try {
      [response] = await this.#client.decrypt({
        name: this.keyName,
        ciphertext: wrapped,
        ciphertextCrc32c: { value: crc32c(wrapped) },
        additionalAuthenticatedData: aadBytes,
        additionalAuthenticatedDataCrc32c: { value: crc32c(aadBytes) },
      }, { timeout: this.#timeout });
    } catch (error) {
      if (statusCode(error) === INVALID_ARGUMENT) {
        throw vaultError("VAULT_DECRYPT_FAILED", DECRYPT_FAILED_MESSAGE);
      }
      throw unavailable("decrypt", error);
    }
    const plaintext = bytes(response.plaintext);
    if (response.plaintext instanceof Uint8Array) response.plaintext.fill(0); // keep only our copy
    if (!plaintext || !sameCrc(response.plaintextCrc32c, plaintext)) {
      plaintext?.fill(0);
      throw corrupted("decrypt");
    }
    return plaintext;
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * Resolves the Cloud KMS key name from the environment: `KMS_KEY_NAME`, or
 * all of `KMS_PROJECT_ID`, `KMS_LOCATION`, `KMS_KEYRING` and `KMS_KEY`.
 * Reports every problem (missing variables, a malformed name, a conflict).
 */
export function resolveKmsKeyName(
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; keyName: string } | { ok: false; problems: string[] } {
  const value = (name: string) => env[name]?.trim() || undefined;
  const full = value("KMS_KEY_NAME");
  const given = PARTS.filter((name) => value(name) !== undefined);
  const built = given.length === PARTS.length
    ? `projects/${value("KMS_PROJECT_ID")}/locations/${value("KMS_LOCATION")}/keyRings/${
      value("KMS_KEYRING")
    }/cryptoKeys/${value("KMS_KEY")}`
    : undefined;
  const problems: string[] = [];
  if (full === undefined && built === undefined) {
    const missing = PARTS.filter((name) => !given.includes(name));
    problems.push(
      `Cloud KMS key is not configured: set KMS_KEY_NAME, or all of ${PARTS.join(", ")} (missing: ${
        missing.join(", ")
      })`,
    );
  }
  const keyName = full ?? built;
  const source = full !== undefined ? "KMS_KEY_NAME" : PARTS.join("/");
  if (keyName !== undefined && !KEY_NAME.test(keyName)) {
    problems.push(
      `Invalid Cloud KMS key name "${keyName}" from ${source}: expected projects/P/locations/L/keyRings/R/cryptoKeys/K`,
    );
  }
  if (full !== undefined && built !== undefined && full !== built) {
    problems.push(`KMS_KEY_NAME "${full}" disagrees with ${PARTS.join("/")} "${built}"`);
  }
  return problems.length === 0 && keyName !== undefined ? { ok: true, keyName } : { ok: false, problems };
}

/**
 * The Cloud KMS key name from the environment (see {@link resolveKmsKeyName}).
 * @throws {Error} listing every problem, e.g. which variables are missing
 */
export function kmsKeyName(env: Readonly<Record<string, string | undefined>>): string {
  const result = resolveKmsKeyName(env);
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.keyName;
}

function bytes(value: Uint8Array | string | null | undefined): Uint8Array | undefined {
  if (value instanceof Uint8Array) return new Uint8Array(value); // a plain copy, not a Buffer
  if (typeof value === "string") return Uint8Array.fromBase64(value);
  return undefined;
}

function sameCrc(
  expected: { value?: number | string | { toString(): string } | null } | null | undefined,
  data: Uint8Array,
): boolean {
  return expected?.value != null && String(expected.value) === String(crc32c(data));
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function unavailable(op: string, error: unknown): AppError {
  // Only the status code is kept: the client's errors can carry the request,
  // and with it the data key.
  const code = statusCode(error);
  const status = code === undefined ? "no response" : (STATUS_NAMES[code] ?? `status ${code}`);
  return vaultError("VAULT_UNAVAILABLE", `Cloud KMS ${op} failed (${status})`);
}

function corrupted(op: string): AppError {
  return vaultError(
    "VAULT_UNAVAILABLE",
    `Cloud KMS ${op} failed: the response did not pass its CRC32C integrity checks`,
  );
}
