/**
 * The serialised envelope, version 1:
 *
 * ```
 * v1.<wrapper kind>.<wrapped data key>.<iv>.<ciphertext>
 * v1.local.3q2-7w...  .kq1xN8...  .Zm9vYmFy...
 * ```
 *
 * - `wrapper kind` is `local` or `cloud_kms`: who can unwrap the data key.
 * - the last three fields are unpadded base64url (RFC 4648 §5), so the whole
 *   envelope is one URL- and CSV-safe token with no `=`, `+`, `/` or spaces.
 * - `wrapped data key` is opaque to the vault (the wrapper's own format).
 * - `iv` is the 12-byte AES-GCM nonce; `ciphertext` is the AES-256-GCM output
 *   with its 16-byte tag appended (WebCrypto's layout).
 *
 * Parsing is strict: exactly five fields, a known version, canonical base64url
 * (so no two strings decode to the same bytes), a 12-byte iv and a ciphertext
 * at least as long as the tag. The header fields are not secret, and tampering
 * with any field makes decryption fail, as the data key and the ciphertext are
 * both bound to the same additional authenticated data.
 */

export const ENVELOPE_VERSION = "v1";
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface Envelope {
  kind: string;
  wrappedKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

const B64URL = { alphabet: "base64url", omitPadding: true } as const;
const B64URL_CHARS = /^[A-Za-z0-9_-]+$/;
const KIND = /^[a-z][a-z0-9_]*$/;

/** Serialises an envelope; the inverse of {@link parseEnvelope}. */
export function formatEnvelope(envelope: Envelope): string {
  return [
    ENVELOPE_VERSION,
    envelope.kind,
    envelope.wrappedKey.toBase64(B64URL),
    envelope.iv.toBase64(B64URL),
    envelope.ciphertext.toBase64(B64URL),
  ].join(".");
}

/** Parses an envelope, or returns undefined when it is malformed in any way. */
export function parseEnvelope(text: unknown): Envelope | undefined {
  if (typeof text !== "string") return undefined;
  const fields = text.split(".");
  if (fields.length !== 5) return undefined;
  const [version, kind, wrapped, iv, ciphertext] = fields as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version !== ENVELOPE_VERSION || !KIND.test(kind)) return undefined;
  const envelope = {
    kind,
    wrappedKey: decodeBase64Url(wrapped),
    iv: decodeBase64Url(iv),
    ciphertext: decodeBase64Url(ciphertext),
  };
  if (!envelope.wrappedKey || !envelope.iv || !envelope.ciphertext) {
    return undefined;
  }
  if (envelope.iv.length !== IV_BYTES) return undefined;
  if (envelope.ciphertext.length < TAG_BYTES) return undefined;
  return envelope as Envelope;
}

/** Decodes canonical unpadded base64url, or returns undefined. */
function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!B64URL_CHARS.test(text)) return undefined;
  try {
    const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
    // Reject non-canonical spellings (stray low bits in the last character).
    return bytes.toBase64(B64URL) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}
