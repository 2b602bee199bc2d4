/**
 * The key vault contract: one suite every key wrapper must pass.
 */
import assert from "node:assert/strict";
import { DECRYPT_FAILED_MESSAGE, isVaultError, KeyVault, type VaultErrorCode } from "../../src/vault/mod.ts";
import type { AppError } from "../../src/errors/mod.ts";

/** How the suite gets vaults of one backend. */
export interface VaultBackend {
  /** A vault, and one with another key-encryption key of the same kind. */
  open(): Promise<{ vault: KeyVault; other: KeyVault }>;
}

const ACME = { org_slug: "acme_corp", provider: "openai" };
const SECRET = "sk-admin-" + "Zx9".repeat(20);
const B64URL = { alphabet: "base64url", omitPadding: true } as const;

/** Asserts `promise` rejects with a vault AppError of `code` that leaks none of `secrets`. */
export async function assertVaultError(
  promise: Promise<unknown>,
  code: VaultErrorCode,
  secrets: string[] = [],
): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail("expected a vault error"),
    (e: unknown) => e,
  );
  assert.ok(isVaultError(error), `expected a vault AppError, got ${error}`);
  assert.equal(error.code, code);
  const shown = `${error.message}\n${error.stack}\n${Deno.inspect(error)}`;
  for (const secret of secrets.filter((s) => s.length >= 4)) {
    assert.ok(!shown.includes(secret), "the error shows a secret or ciphertext");
  }
  return error;
}

/** The envelope's fields, to assert none of them leaks. */
function fieldsOf(envelope: string): string[] {
  return [envelope, ...envelope.split(".").slice(2)];
}

/** The envelope with one bit of one binary field flipped. */
function flipBit(envelope: string, field: 2 | 3 | 4, byte: number, bit: number): string {
  const parts = envelope.split(".");
  const bytes = Uint8Array.fromBase64(parts[field]!, { alphabet: "base64url" });
  bytes[byte] = bytes[byte]! ^ (1 << bit);
  parts[field] = bytes.toBase64(B64URL);
  return parts.join(".");
}

/** Registers the contract as steps of `t`. */
export async function vaultContract(t: Deno.TestContext, backend: VaultBackend): Promise<void> {
  const { vault, other } = await backend.open();
  try {
    await t.step("decrypt() returns what encrypt() sealed", async () => {
      for (const secret of [SECRET, "", "pässwörd 🔑 \u0000 |.|", '{"type":"service_account"}']) {
        const envelope = await vault.encrypt(secret, ACME);
        assert.match(envelope, /^v1\.(local|cloud_kms)\.[\w-]+\.[\w-]{16}\.[\w-]{22,}$/);
        assert.ok(!envelope.includes(secret) || secret === "");
        assert.equal(await vault.decrypt(envelope, ACME), secret);
      }
    });

    await t.step("the same secret encrypted twice gives unrelated envelopes", async () => {
      const [a, b] = [await vault.encrypt(SECRET, ACME), await vault.encrypt(SECRET, ACME)];
      const [pa, pb] = [a.split("."), b.split(".")];
      for (const field of [2, 3, 4]) assert.notEqual(pa[field], pb[field]);
      assert.equal(await vault.decrypt(a, ACME), await vault.decrypt(b, ACME));
    });

    await t.step("a ciphertext moved to another org fails to decrypt", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      const moved = { org_slug: "globex", provider: "openai" };
      await assertVaultError(vault.decrypt(envelope, moved), "VAULT_DECRYPT_FAILED", [SECRET]);
    });

    await t.step("a ciphertext moved to another provider fails to decrypt", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      for (const provider of ["anthropic", "OpenAI", "openai "]) {
        const moved = { org_slug: "acme_corp", provider };
        const error = await assertVaultError(vault.decrypt(envelope, moved), "VAULT_DECRYPT_FAILED");
        assert.equal(error.message, DECRYPT_FAILED_MESSAGE);
      }
    });

    await t.step("a flipped bit in the wrapped key, iv or ciphertext fails to decrypt", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      for (const field of [2, 3, 4] as const) {
        const text = envelope.split(".")[field]!;
        const length = Uint8Array.fromBase64(text, { alphabet: "base64url" }).length;
        for (const byte of [0, length >> 1, length - 1]) {
          for (const bit of [0, 7]) {
            const tampered = flipBit(envelope, field, byte, bit);
            const error = await assertVaultError(
              vault.decrypt(tampered, ACME),
              "VAULT_DECRYPT_FAILED",
              [SECRET, ...fieldsOf(tampered)],
            );
            assert.equal(error.message, DECRYPT_FAILED_MESSAGE);
          }
        }
      }
    });

    await t.step("changing any one character of the envelope fails to decrypt", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      for (let i = 0; i < envelope.length; i++) {
        const swapped = envelope[i] === "A" ? "B" : "A";
        const tampered = envelope.slice(0, i) + swapped + envelope.slice(i + 1);
        await assertVaultError(vault.decrypt(tampered, ACME), "VAULT_DECRYPT_FAILED", [SECRET]);
      }
    });

    await t.step("a truncated or garbage envelope fails without showing it", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      const [v, kind, k, iv, ct] = envelope.split(".") as [string, string, string, string, string];
      const cuts = [1, 2, 3, 9, 20, envelope.length >> 1, envelope.length - 4, envelope.length - 1];
      const garbage: unknown[] = [
        ...cuts.map((n) => envelope.slice(0, n)),
        envelope.slice(1),
        "",
        "garbage",
        "v1....",
        `${envelope}.`,
        `${envelope}=`,
        `${envelope} `,
        `${envelope}\n`,
        ` ${envelope}`,
        [v, kind, k, iv].join("."),
        [v, kind, k, iv, ct, ct].join("."),
        [v, kind, k, iv.slice(0, -2), ct].join("."),
        [v, kind, k, iv, ct.slice(0, 20)].join("."),
        [v, kind, k.slice(0, -3), iv, ct].join("."),
        [v, kind, `${k}AAAA`, iv, ct].join("."),
        ["v2", kind, k, iv, ct].join("."),
        [v, kind, `+${k.slice(1)}`, iv, ct].join("."), // standard base64, not base64url
        [v, kind, k, iv, `${ct.slice(0, -1)}/`].join("."),
        btoa(JSON.stringify({ w: kind, k, iv, ct })),
        null,
        42,
        {},
      ];
      for (const bad of garbage) {
        const secrets = [SECRET, ...(typeof bad === "string" && bad.length > 8 ? [bad] : []), k, iv, ct];
        const error = await assertVaultError(
          vault.decrypt(bad as string, ACME),
          "VAULT_DECRYPT_FAILED",
          secrets,
        );
        assert.equal(error.message, DECRYPT_FAILED_MESSAGE);
      }
    });

    await t.step("another key-encryption key cannot decrypt", async () => {
      const envelope = await vault.encrypt(SECRET, ACME);
      await assertVaultError(other.decrypt(envelope, ACME), "VAULT_DECRYPT_FAILED", [SECRET]);
      assert.equal(await vault.decrypt(envelope, ACME), SECRET);
    });

    await t.step("a 1 MB secret round-trips", async () => {
      const random = new Uint8Array(768 * 1024);
      for (let i = 0; i < random.length; i += 65536) {
        crypto.getRandomValues(random.subarray(i, i + 65536));
      }
      const big = random.toBase64(); // 1 MiB of text
      assert.equal(big.length, 1024 * 1024);
      const envelope = await vault.encrypt(big, ACME);
      assert.equal(await vault.decrypt(envelope, ACME), big);
      await assertVaultError(
        vault.decrypt(envelope, { ...ACME, provider: "deepseek" }),
        "VAULT_DECRYPT_FAILED",
        [big.slice(0, 64)],
      );
    });
  } finally {
    await vault.close();
    await other.close();
  }
}
