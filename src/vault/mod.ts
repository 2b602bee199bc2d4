/**
 * The key vault: envelope encryption of provider credentials, with data keys
 * wrapped by a local key-encryption key (embedded default) or Cloud KMS.
 *
 * @example
 * const vault = await openVault({ kind: "local", dataDir: "./data" });
 * const sealed = await vault.encrypt(apiKey, { org_slug: "acme", provider: "openai" });
 * const apiKeyAgain = await vault.decrypt(sealed, { org_slug: "acme", provider: "openai" });
 *
 * @module
 */
import { join } from "node:path";
import { CloudKmsKeyWrapper, type CloudKmsKeyWrapperOptions } from "./cloud_kms.ts";
import { openLocalKeyWrapper } from "./local.ts";
import { KeyVault } from "./vault.ts";

export {
  /**
   * Validates an {@link Aad} and returns `org_slug|provider`.
   * @throws {TypeError} on an invalid org_slug or provider
   */
  aadString,
  /** The message of every VAULT_DECRYPT_FAILED error caused by a bad envelope. */
  DECRYPT_FAILED_MESSAGE,
  /** Whether an error is the vault's own (an AppError VAULT_DECRYPT_FAILED or VAULT_UNAVAILABLE). */
  isVaultError,
  /**
   * Encrypts and decrypts secrets bound to `org_slug|provider`.
   * @example
   * const vault = new KeyVault(await openLocalKeyWrapper("./data/kek.key"));
   */
  KeyVault,
  /**
   * A vault failure: an AppError with a stable `code`, VAULT_DECRYPT_FAILED or
   * VAULT_UNAVAILABLE. Its message never holds a secret.
   */
  vaultError,
} from "./vault.ts";
export type {
  /** Whom a secret belongs to: `{ org_slug, provider }`. */
  Aad,
  /** What wraps data keys: a local key or Cloud KMS. */
  KeyWrapper,
  /** `VAULT_DECRYPT_FAILED` or `VAULT_UNAVAILABLE`. */
  VaultErrorCode,
} from "./vault.ts";
export {
  /**
   * Wraps data keys with a 32-byte key-encryption key held in memory.
   * @example
   * const wrapper = await LocalKeyWrapper.fromKey(crypto.getRandomValues(new Uint8Array(32)));
   */
  LocalKeyWrapper,
  /**
   * Opens (creating on first use, mode 0600) the key-encryption key file.
   * @throws {Error} when the file is not 32 bytes or others may read it
   */
  openLocalKeyWrapper,
} from "./local.ts";
export {
  /**
   * Wraps data keys with Cloud KMS over its REST API.
   * @example
   * const wrapper = new CloudKmsKeyWrapper({ keyName: kmsKeyName(Deno.env.toObject()) });
   */
  CloudKmsKeyWrapper,
  /**
   * The key name from KMS_KEY_NAME or KMS_PROJECT_ID/KMS_LOCATION/KMS_KEYRING/KMS_KEY.
   * @throws {Error} naming the missing variables
   */
  kmsKeyName,
  /** Like {@link kmsKeyName}, but returns every problem instead of throwing. */
  resolveKmsKeyName,
} from "./cloud_kms.ts";
export type {
  /** Options of {@link CloudKmsKeyWrapper}: keyName, apiEndpoint, port, protocol, timeoutMs, authClient, apiKey. */
  CloudKmsKeyWrapperOptions,
  /** A google-auth-library AuthClient. */
  KmsAuthClient,
} from "./cloud_kms.ts";

/** Where {@link openVault} keeps or gets its key-encryption key. */
export type VaultConfig =
  | { kind: "local"; dataDir: string }
  | ({ kind: "cloud_kms" } & CloudKmsKeyWrapperOptions);

/**
 * Opens the vault for a deployment.
 *
 * - `{ kind: "local", dataDir }`: key-encryption key in `${dataDir}/kek.key`,
 *   created with mode 0600 on first use.
 * - `{ kind: "cloud_kms", keyName, apiEndpoint?, port?, protocol?, timeoutMs?,
 *   authClient?, apiKey? }`: Cloud KMS; defaults to cloudkms.googleapis.com:443
 *   over https, Application Default Credentials and a 10 s timeout per call.
 *   Nothing is contacted until the first encrypt or decrypt.
 *
 * @throws {Error} when the key file is unusable or the key name malformed
 * @example
 * const vault = await openVault({ kind: "cloud_kms", keyName: kmsKeyName(Deno.env.toObject()) });
 */
export async function openVault(config: VaultConfig): Promise<KeyVault> {
  if (config.kind === "local") {
    return new KeyVault(await openLocalKeyWrapper(join(config.dataDir, "kek.key")));
  }
  const { kind: _kind, ...options } = config;
  return new KeyVault(new CloudKmsKeyWrapper(options));
}
