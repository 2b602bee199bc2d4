/**
 * The vault contract, run against both key wrappers (the Cloud KMS one
 * through the official client and a local stand-in of the REST API), plus
 * the behaviour that does not depend on the wrapper.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CloudKmsKeyWrapper, KeyVault, LocalKeyWrapper, openVault } from "../../src/vault/mod.ts";
import { startCloudKmsStandin } from "../standins/cloud_kms.ts";
import { assertVaultError, vaultContract } from "./_contract.ts";

const KEY = "projects/convergence-test/locations/us-central1/keyRings/vault/cryptoKeys/credentials";

function randomKek(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

Deno.test("the local key wrapper passes the vault contract", async (t) => {
  const dataDir = await Deno.makeTempDir();
  try {
    await vaultContract(t, {
      open: async () => ({
        vault: await openVault({ kind: "local", dataDir }),
        other: new KeyVault(await LocalKeyWrapper.fromKey(randomKek())),
      }),
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the Cloud KMS key wrapper passes the vault contract", async (t) => {
  const standin = await startCloudKmsStandin();
  try {
    await vaultContract(t, {
      open: () =>
        Promise.resolve({
          vault: new KeyVault(new CloudKmsKeyWrapper({ keyName: KEY, ...standin.clientOptions })),
          other: new KeyVault(
            new CloudKmsKeyWrapper({ keyName: `${KEY}_other`, ...standin.clientOptions }),
          ),
        }),
    });
    assert.ok(standin.calls.length > 0);
    assert.deepEqual(standin.unexpected, []);
  } finally {
    await standin.close();
  }
});

Deno.test("an envelope sealed by one kind of wrapper is refused by the other", async () => {
  const standin = await startCloudKmsStandin();
  const local = new KeyVault(await LocalKeyWrapper.fromKey(randomKek()));
  const kms = new KeyVault(new CloudKmsKeyWrapper({ keyName: KEY, ...standin.clientOptions }));
  try {
    const aad = { org_slug: "acme", provider: "gcp" };
    const fromLocal = await local.encrypt("secret-one", aad);
    const fromKms = await kms.encrypt("secret-two", aad);
    const error = await assertVaultError(kms.decrypt(fromLocal, aad), "VAULT_DECRYPT_FAILED", [
      "secret-one",
      fromLocal,
    ]);
    assert.match(error.message, /sealed by the "local" key wrapper, but this vault uses "cloud_kms"/);
    await assertVaultError(local.decrypt(fromKms, aad), "VAULT_DECRYPT_FAILED", ["secret-two"]);
    assert.equal(standin.calls.filter((c) => c.rpc === "decrypt").length, 0);
  } finally {
    await kms.close();
    await standin.close();
  }
});

Deno.test("encrypt() and decrypt() reject an invalid org_slug or provider", async () => {
  const vault = new KeyVault(await LocalKeyWrapper.fromKey(randomKek()));
  const envelope = await vault.encrypt("s3cret", { org_slug: "acme", provider: "openai" });
  const bad = [
    { org_slug: "ab", provider: "openai" },
    { org_slug: "Acme", provider: "openai" },
    { org_slug: "1acme", provider: "openai" },
    { org_slug: "acme-corp", provider: "openai" },
    { org_slug: "a".repeat(51), provider: "openai" },
    { org_slug: "acme|x", provider: "openai" },
    { org_slug: "acme", provider: "" },
    { org_slug: "acme", provider: "open|ai" },
    { org_slug: "acme", provider: 7 },
    {},
  ] as unknown as { org_slug: string; provider: string }[];
  for (const aad of bad) {
    await assert.rejects(vault.encrypt("s3cret", aad), TypeError);
    await assert.rejects(vault.decrypt(envelope, aad), TypeError);
  }
  assert.equal(
    await vault.decrypt(envelope, { org_slug: "acme", provider: "openai" }),
    "s3cret",
  );
  const longest = { org_slug: `a${"b_9".repeat(16)}c`, provider: "gcp" };
  assert.equal(await vault.decrypt(await vault.encrypt("x", longest), longest), "x");
});

Deno.test("openVault() keeps the local key in <dataDir>/kek.key", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const nested = join(dataDir, "not", "yet");
    const vault = await openVault({ kind: "local", dataDir: nested });
    assert.equal(vault.kind, "local");
    assert.equal((await Deno.stat(join(nested, "kek.key"))).size, 32);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
