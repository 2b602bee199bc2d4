/**
 * The key vault: envelope encryption of provider credentials.
 *
 * Each `encrypt` draws a fresh 32-byte data key, encrypts the plaintext with
 * AES-256-GCM under a fresh 12-byte iv and the additional authenticated data
 * `org_slug|provider`, then has a {@link KeyWrapper} (a local key-encryption
 * key or Cloud KMS) wrap the data key, bound to the same AAD. A ciphertext
 * copied to another org or provider therefore fails to decrypt. The envelope
 * format is described in `_envelope.ts`.
 */
import { type Envelope, formatEnvelope, IV_BYTES, parseEnvelope } from "./_envelope.ts";
import { AppError } from "../errors/mod.ts";

/** Whom a secret belongs to; bound into every ciphertext as `org_slug|provider`. */
export interface Aad {
  org_slug: string;
  provider: string;
}

/** Wraps and unwraps data keys with a key-encryption key the vault never sees. */
export interface KeyWrapper {
  readonly kind: "local" | "cloud_kms";
  /** Encrypts `dataKey`, bound to `aad`. Throws the AppError VAULT_UNAVAILABLE when unreachable. */
  wrap(dataKey: Uint8Array, aad: string): Promise<Uint8Array>;
  /**
   * Decrypts a wrapped key. Throws the AppError VAULT_DECRYPT_FAILED when it was
   * not wrapped by this key for this `aad`, VAULT_UNAVAILABLE when unreachable.
   */
  unwrap(wrapped: Uint8Array, aad: string): Promise<Uint8Array>;
  /** Releases connections, if the wrapper holds any. */
  close?(): Promise<void>;
}

/** Stable error codes of the vault. */
export type VaultErrorCode = "VAULT_DECRYPT_FAILED" | "VAULT_UNAVAILABLE";

/**
 * A vault failure: an `AppError` with a {@link VaultErrorCode}. Messages never include plaintext, keys or
 * ciphertext, and no `cause` is attached (it could carry them, e.g. a request body).
 */
export function vaultError(code: VaultErrorCode, message: string): AppError {
  return new AppError(code, message);
}

/** Whether `e` is a failure the vault raised itself (its code is a {@link VaultErrorCode}). */
export function isVaultError(e: unknown): e is AppError & { readonly code: VaultErrorCode } {
  return e instanceof AppError && (e.code === "VAULT_DECRYPT_FAILED" || e.code === "VAULT_UNAVAILABLE");
}

/** The one message for every decrypt failure, so failures cannot be told apart. */
export const DECRYPT_FAILED_MESSAGE =
  "Cannot decrypt credential: the envelope is malformed, was altered, or was sealed for another org, provider or key";

const DATA_KEY_BYTES = 32;
const ORG_SLUG = /^[a-z][a-z0-9_]{2,49}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Validates `aad` and returns its canonical form `org_slug|provider`.
 * @throws {TypeError} when org_slug is not 3-50 lowercase letters, digits or
 *   `_` starting with a letter, or provider is empty or contains `|`
 */
export function aadString(aad: Aad): string {
  const { org_slug, provider } = aad ?? {};
  if (typeof org_slug !== "string" || !ORG_SLUG.test(org_slug)) {
    throw new TypeError(
      `Invalid org_slug ${quote(org_slug)}: expected 3-50 lowercase letters, digits or "_", starting with a letter`,
    );
  }
  if (typeof provider !== "string" || provider === "" || provider.includes("|")) {
    throw new TypeError(`Invalid provider ${quote(provider)}: expected a non-empty name without "|"`);
  }
  return `${org_slug}|${provider}`;
}

/** Encrypts and decrypts secrets with envelope encryption (see the module doc). */
export class KeyVault {
  readonly #wrapper: KeyWrapper;

  constructor(wrapper: KeyWrapper) {
    this.#wrapper = wrapper;
  }

  /** Which wrapper protects the data keys: `local` or `cloud_kms`. */
  get kind(): KeyWrapper["kind"] {
    return this.#wrapper.kind;
  }

  /**
   * Encrypts `plaintext` for `aad` and returns the envelope string.
   * @throws {TypeError} on an invalid `aad`
   * @throws {AppError} VAULT_UNAVAILABLE when the key wrapper cannot be reached
   */
  async encrypt(plaintext: string, aad: Aad): Promise<string> {
    if (typeof plaintext !== "string") throw new TypeError("Plaintext must be a string");
    const aadText = aadString(aad);
    const dataKey = crypto.getRandomValues(new Uint8Array(DATA_KEY_BYTES));
    const data = encoder.encode(plaintext);
    try {
      const key = await importDataKey(dataKey, "encrypt");
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt(gcm(iv, aadText), key, data),
      );
      const wrappedKey = await this.#call("wrap", () => this.#wrapper.wrap(dataKey, aadText));
      return formatEnvelope({ kind: this.#wrapper.kind, wrappedKey, iv, ciphertext });
    } finally {
      dataKey.fill(0);
      data.fill(0);
    }
  }

  /**
   * Decrypts an envelope made by {@link KeyVault.encrypt} for the same `aad`.
   * @throws {TypeError} on an invalid `aad`
   * @throws {AppError} VAULT_DECRYPT_FAILED when the envelope is malformed,
   *   altered, or sealed for another org, provider or key; VAULT_UNAVAILABLE
   *   when the key wrapper cannot be reached
   */
  async decrypt(envelope: string, aad: Aad): Promise<string> {
    const aadText = aadString(aad);
    const parsed = parseEnvelope(envelope);
    if (!parsed) throw decryptFailed();
    if (parsed.kind !== this.#wrapper.kind) {
      throw vaultError(
        "VAULT_DECRYPT_FAILED",
        `Cannot decrypt credential: it was sealed by the "${parsed.kind}" key wrapper, but this vault uses "${this.#wrapper.kind}"`,
      );
    }
    const dataKey = await this.#call("unwrap", () => this.#wrapper.unwrap(parsed.wrappedKey, aadText));
    let data: Uint8Array | undefined;
    try {
      if (dataKey.length !== DATA_KEY_BYTES) throw decryptFailed();
      data = await openCiphertext(parsed, await importDataKey(dataKey, "decrypt"), aadText);
      return decoder.decode(data);
    } catch (error) {
      if (isVaultError(error)) throw error;
      throw decryptFailed(); // OperationError (tag mismatch) or invalid UTF-8
    } finally {
      dataKey.fill(0);
      data?.fill(0);
    }
  }

  /** Releases the wrapper's connections; the vault is unusable afterwards. */
  async close(): Promise<void> {
    await this.#wrapper.close?.();
  }

  async #call<T>(op: "wrap" | "unwrap", fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (isVaultError(error)) throw error;
      // Fail closed. The cause is dropped: it could hold the data key.
      throw vaultError(
        "VAULT_UNAVAILABLE",
        `Key wrapper "${this.#wrapper.kind}" failed to ${op} a data key`,
      );
    }
  }
}

function decryptFailed(): AppError {
  return vaultError("VAULT_DECRYPT_FAILED", DECRYPT_FAILED_MESSAGE);
}

function importDataKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [usage]);
}

function gcm(iv: Uint8Array, aad: string): AesGcmParams {
  return {
    name: "AES-GCM",
    iv: iv as Uint8Array<ArrayBuffer>,
    additionalData: encoder.encode(aad),
    tagLength: 128,
  };
}

async function openCiphertext(envelope: Envelope, key: CryptoKey, aad: string): Promise<Uint8Array> {
  const ciphertext = envelope.ciphertext as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await crypto.subtle.decrypt(gcm(envelope.iv, aad), key, ciphertext));
}

function quote(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}
