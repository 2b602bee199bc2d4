/**
 * The embedded key wrapper: a 32-byte AES-256-GCM key-encryption key (KEK)
 * kept in a file, `${DATA_DIR}/kek.key` by default, created mode 0600.
 *
 * A wrapped data key is `iv (12 bytes) || AES-256-GCM(KEK, dataKey, aad) || tag (16 bytes)`.
 */
import { dirname } from "node:path";
import { DECRYPT_FAILED_MESSAGE, type KeyWrapper, vaultError } from "./vault.ts";
import type { AppError } from "../errors/mod.ts";

const KEK_BYTES = 32;
const IV_BYTES = 12;
const WRAPPED_BYTES = IV_BYTES + 32 + 16;
const encoder = new TextEncoder();

/** Wraps data keys with a key-encryption key held in this process. */
export class LocalKeyWrapper implements KeyWrapper {
  readonly kind = "local";
  readonly #kek: CryptoKey;

  private constructor(kek: CryptoKey) {
    this.#kek = kek;
  }

  /**
   * A wrapper around the raw 32-byte `kek`; the bytes are imported as a
   * non-extractable key and may be zeroed by the caller afterwards.
   * @throws {RangeError} when `kek` is not 32 bytes
   */
  static async fromKey(kek: Uint8Array): Promise<LocalKeyWrapper> {
    if (kek.length !== KEK_BYTES) {
      throw new RangeError(`A key-encryption key must be ${KEK_BYTES} bytes, got ${kek.length}`);
    }
    const key = await crypto.subtle.importKey(
      "raw",
      kek as Uint8Array<ArrayBuffer>,
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
    return new LocalKeyWrapper(key);
  }

  async wrap(dataKey: Uint8Array, aad: string): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt(
      params(iv, aad),
      this.#kek,
      dataKey as Uint8Array<ArrayBuffer>,
    );
    const wrapped = new Uint8Array(IV_BYTES + sealed.byteLength);
    wrapped.set(iv);
    wrapped.set(new Uint8Array(sealed), IV_BYTES);
    return wrapped;
  }

  async unwrap(wrapped: Uint8Array, aad: string): Promise<Uint8Array> {
    if (wrapped.length !== WRAPPED_BYTES) throw decryptFailed();
    try {
      const iv = wrapped.slice(0, IV_BYTES);
      const sealed = wrapped.subarray(IV_BYTES) as Uint8Array<ArrayBuffer>;
      return new Uint8Array(await crypto.subtle.decrypt(params(iv, aad), this.#kek, sealed));
    } catch {
      throw decryptFailed(); // wrong KEK, wrong AAD or altered bytes
    }
  }
}

/**
 * Opens the key-encryption key at `path`, creating it (and its folder) on
 * first use: 32 random bytes, mode 0600. Two processes creating it at once
 * agree on one key: each writes a private temporary file and hard-links it
 * into place, which fails for all but the first; the others read the winner's.
 * @throws {Error} when the file exists but is not exactly 32 bytes, or is
 *   readable or writable by group or others (POSIX only)
 * @example
 * const vault = new KeyVault(await openLocalKeyWrapper("./data/kek.key"));
 */
export async function openLocalKeyWrapper(path: string): Promise<LocalKeyWrapper> {
  const kek = await readKek(path) ?? await createKek(path);
  try {
    return await LocalKeyWrapper.fromKey(kek);
  } finally {
    kek.fill(0);
  }
}

async function readKek(path: string): Promise<Uint8Array | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read key-encryption key file "${path}"`, { cause: error });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw refuse(path, "it is not a regular file");
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw refuse(path, `its mode ${mode} lets others read or write it (run: chmod 600 "${path}")`);
    }
    if (info.size !== KEK_BYTES) {
      throw refuse(path, `it holds ${info.size} bytes, expected ${KEK_BYTES}`);
    }
    const kek = new Uint8Array(KEK_BYTES);
    let read = 0;
    while (read < KEK_BYTES) {
      const n = await file.read(kek.subarray(read));
      if (n === null) {
        kek.fill(0);
        throw refuse(path, `it holds ${read} bytes, expected ${KEK_BYTES}`);
      }
      read += n;
    }
    return kek;
  } finally {
    file.close();
  }
}

async function createKek(path: string): Promise<Uint8Array> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const kek = crypto.getRandomValues(new Uint8Array(KEK_BYTES));
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await writeSynced(temp, kek);
    await Deno.link(temp, path); // atomic; fails if another process won
    return kek;
  } catch (error) {
    kek.fill(0);
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new Error(`Cannot create key-encryption key file "${path}"`, { cause: error });
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  const winner = await readKek(path);
  if (!winner) throw new Error(`Key-encryption key file "${path}" vanished while being created`);
  return winner;
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
  await file.sync();
}

function refuse(path: string, why: string): Error {
  return new Error(`Refusing key-encryption key file "${path}": ${why}`);
}

function params(iv: Uint8Array, aad: string): AesGcmParams {
  return {
    name: "AES-GCM",
    iv: iv as Uint8Array<ArrayBuffer>,
    additionalData: encoder.encode(aad),
    tagLength: 128,
  };
}

function decryptFailed(): AppError {
  return vaultError("VAULT_DECRYPT_FAILED", DECRYPT_FAILED_MESSAGE);
}
