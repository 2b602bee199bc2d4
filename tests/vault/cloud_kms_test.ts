/**
 * The Cloud KMS key wrapper through the official client against the local
 * stand-in: request shapes, failure mapping, integrity checks, key names.
 */
import assert from "node:assert/strict";
import {
  CloudKmsKeyWrapper,
  KeyVault,
  type KmsAuthClient,
  kmsKeyName,
  openVault,
  resolveKmsKeyName,
} from "../../src/vault/mod.ts";
import { crc32c } from "../../src/vault/_crc32c.ts";
import { googleError, startCloudKmsStandin } from "../standins/cloud_kms.ts";
import { assertVaultError } from "./_contract.ts";

const KEY = "projects/convergence-test/locations/europe-west1/keyRings/vault/cryptoKeys/credentials";
const AAD = { org_slug: "acme", provider: "openai" };
const SECRET = "sk-admin-0123456789abcdefghijklmnop";
const decode = (b64: unknown) => Uint8Array.fromBase64(String(b64));

/** Runs `fn` with env vars set, restoring them afterwards. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.keys(vars).map((name) => [name, Deno.env.get(name)] as const);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  try {
    await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

Deno.test("the KMS client sends the key name, the AAD and checksums, and never the secret", async () => {
  const standin = await startCloudKmsStandin();
  // Any metadata-server lookup would land on the stand-in and be recorded.
  const metadataHost = `127.0.0.1:${standin.port}`;
  await withEnv({ GCE_METADATA_HOST: metadataHost, GCE_METADATA_IP: metadataHost }, async () => {
    const vault = await openVault({ kind: "cloud_kms", keyName: KEY, ...standin.clientOptions });
    try {
      assert.equal(vault.kind, "cloud_kms");
      const envelope = await vault.encrypt(SECRET, AAD);
      assert.equal(await vault.decrypt(envelope, AAD), SECRET);

      const [encrypt, decrypt, ...rest] = standin.calls;
      assert.deepEqual(rest, []);
      assert.ok(encrypt && decrypt);
      assert.equal(encrypt.rpc, "encrypt");
      assert.equal(new URL(encrypt.url).pathname, `/v1/${KEY}:encrypt`);
      assert.equal(encrypt.keyName, KEY);
      assert.equal(encrypt.headers["x-goog-api-key"], "standin-api-key");
      assert.equal(encrypt.headers["x-goog-request-params"], `name=${encodeURIComponent(KEY)}`);
      const dataKey = decode(encrypt.body.plaintext);
      const aad = decode(encrypt.body.additionalAuthenticatedData);
      assert.equal(dataKey.length, 32);
      assert.equal(new TextDecoder().decode(aad), "acme|openai");
      assert.equal(encrypt.body.plaintextCrc32c, String(crc32c(dataKey)));
      assert.equal(encrypt.body.additionalAuthenticatedDataCrc32c, String(crc32c(aad)));

      assert.equal(decrypt.rpc, "decrypt");
      assert.equal(new URL(decrypt.url).pathname, `/v1/${KEY}:decrypt`);
      assert.equal(new TextDecoder().decode(decode(decrypt.body.additionalAuthenticatedData)), "acme|openai");
      const wrapped = Uint8Array.fromBase64(envelope.split(".")[2]!, { alphabet: "base64url" });
      assert.deepEqual(decode(decrypt.body.ciphertext), wrapped);
      assert.equal(decrypt.body.ciphertextCrc32c, String(crc32c(wrapped)));

      assert.ok(!JSON.stringify(standin.calls).includes(SECRET), "the secret left the process");
      assert.deepEqual(standin.unexpected, [], "something other than KMS was contacted");
    } finally {
      await vault.close();
      await standin.close();
    }
  });
});

Deno.test("a caller-supplied auth client signs the requests", async () => {
  const standin = await startCloudKmsStandin();
  const authClient = {
    getRequestHeaders: () => Promise.resolve(new Headers({ authorization: "Bearer standin-token" })),
    fetch: async (url: string, init: { method: string; headers: Headers; body?: string; signal: AbortSignal }) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", "Bearer standin-token");
      return await fetch(url, { method: init.method, headers, body: init.body ?? null, signal: init.signal });
    },
  } as unknown as KmsAuthClient;
  const { apiEndpoint, port, protocol } = standin.clientOptions;
  const vault = new KeyVault(new CloudKmsKeyWrapper({ keyName: KEY, apiEndpoint, port, protocol, authClient }));
  try {
    assert.equal(await vault.decrypt(await vault.encrypt(SECRET, AAD), AAD), SECRET);
    assert.equal(standin.calls.length, 2);
    for (const call of standin.calls) {
      assert.equal(call.headers.authorization, "Bearer standin-token");
      assert.equal(call.headers["x-goog-api-key"], undefined);
    }
  } finally {
    await vault.close();
    await standin.close();
  }
});

Deno.test("Cloud KMS unreachable fails closed with VAULT_UNAVAILABLE", async () => {
  const standin = await startCloudKmsStandin();
  const options = { keyName: KEY, ...standin.clientOptions, timeoutMs: 400 };
  const vault = new KeyVault(new CloudKmsKeyWrapper(options));
  const envelope = await vault.encrypt(SECRET, AAD);
  await vault.close();
  await standin.close();

  const down = new KeyVault(new CloudKmsKeyWrapper(options));
  try {
    const started = Date.now();
    const error = await assertVaultError(down.encrypt(SECRET, AAD), "VAULT_UNAVAILABLE", [SECRET]);
    assert.match(error.message, /^Cloud KMS encrypt failed \((DEADLINE_EXCEEDED|UNAVAILABLE)\)$/);
    await assertVaultError(down.decrypt(envelope, AAD), "VAULT_UNAVAILABLE", [
      SECRET,
      ...envelope.split(".").slice(2),
    ]);
    assert.ok(Date.now() - started < 5_000, "the timeout was not honoured");
  } finally {
    await down.close();
  }
});

Deno.test("Cloud KMS errors map to VAULT_UNAVAILABLE, a rejected ciphertext to VAULT_DECRYPT_FAILED", async () => {
  const standin = await startCloudKmsStandin();
  const vault = new KeyVault(new CloudKmsKeyWrapper({ keyName: KEY, ...standin.clientOptions, timeoutMs: 300 }));
  try {
    const envelope = await vault.encrypt(SECRET, AAD);
    const cases: [number, string][] = [
      [403, "PERMISSION_DENIED"],
      [401, "UNAUTHENTICATED"],
      [404, "NOT_FOUND"],
      [400, "FAILED_PRECONDITION"],
      [429, "RESOURCE_EXHAUSTED"],
      [500, "INTERNAL"],
      [503, "UNAVAILABLE"],
    ];
    for (const [http, status] of cases) {
      standin.override = () => googleError(http, status, `${status} from the stand-in`);
      for (const attempt of [() => vault.encrypt(SECRET, AAD), () => vault.decrypt(envelope, AAD)]) {
        const error = await assertVaultError(attempt(), "VAULT_UNAVAILABLE", [SECRET, envelope]);
        assert.match(error.message, /^Cloud KMS (en|de)crypt failed \(\w+\)$/);
      }
    }
    standin.override = () => googleError(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.");
    await assertVaultError(vault.decrypt(envelope, AAD), "VAULT_DECRYPT_FAILED", [SECRET]);
    standin.override = undefined;
    assert.equal(await vault.decrypt(envelope, AAD), SECRET);
  } finally {
    await vault.close();
    await standin.close();
  }
});

Deno.test("a KMS response that fails its CRC32C checks is not trusted", async () => {
  const standin = await startCloudKmsStandin();
  const vault = new KeyVault(new CloudKmsKeyWrapper({ keyName: KEY, ...standin.clientOptions }));
  try {
    const envelope = await vault.encrypt(SECRET, AAD);
    const ciphertext = new Uint8Array(60).fill(9);
    const encryptResponses = [
      { ciphertextCrc32c: String(crc32c(ciphertext) ^ 1), verified: true },
      { ciphertextCrc32c: String(crc32c(ciphertext)), verified: false },
    ];
    for (const { ciphertextCrc32c, verified } of encryptResponses) {
      standin.override = () =>
        Response.json({
          name: `${KEY}/cryptoKeyVersions/1`,
          ciphertext: ciphertext.toBase64(),
          ciphertextCrc32c,
          verifiedPlaintextCrc32c: verified,
          verifiedAdditionalAuthenticatedDataCrc32c: true,
        });
      const error = await assertVaultError(vault.encrypt(SECRET, AAD), "VAULT_UNAVAILABLE");
      assert.match(error.message, /CRC32C/);
    }
    const plaintext = new Uint8Array(32).fill(3);
    standin.override = () =>
      Response.json({ plaintext: plaintext.toBase64(), plaintextCrc32c: String(crc32c(plaintext) ^ 1) });
    await assertVaultError(vault.decrypt(envelope, AAD), "VAULT_UNAVAILABLE", [plaintext.toBase64()]);
  } finally {
    await vault.close();
    await standin.close();
  }
});

Deno.test("data keys stay out of the client's logs even with GOOGLE_SDK_NODE_LOGGING=*", async () => {
  const standin = await startCloudKmsStandin();
  try {
    const mod = new URL("../../src/vault/mod.ts", import.meta.url).href;
    const script = `
      import { CloudKmsKeyWrapper } from ${JSON.stringify(mod)};
      const wrapper = new CloudKmsKeyWrapper({ keyName: ${JSON.stringify(KEY)}, ...JSON.parse(Deno.args[0]) });
      const wrapped = await wrapper.wrap(new Uint8Array(32).fill(65), "acme|openai");
      await wrapper.unwrap(wrapped, "acme|openai");
      await wrapper.close();
    `;
    const output = await new Deno.Command(Deno.execPath(), {
      // A short timeout: in Deno, the client's per-call deadline timer keeps the
      // process alive until it fires, even after the call has completed.
      args: ["eval", script, JSON.stringify({ ...standin.clientOptions, timeoutMs: 1000 })],
      env: { GOOGLE_SDK_NODE_LOGGING: "*" },
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, text);
    assert.match(text, /\[auth\|DEBUG\]/, "SDK logging was not switched on");
    assert.equal(standin.calls.length, 2);
    for (const leak of [`"0":65`, "QUFBQUFB", "65,65,65"]) {
      assert.ok(!text.includes(leak), `the data key was logged: ${text}`);
    }
  } finally {
    await standin.close();
  }
});

Deno.test("kmsKeyName() reads KMS_KEY_NAME or its four parts and names what is missing", () => {
  assert.equal(kmsKeyName({ KMS_KEY_NAME: KEY }), KEY);
  assert.equal(kmsKeyName({ KMS_KEY_NAME: ` ${KEY}\n` }), KEY);
  const parts = {
    KMS_PROJECT_ID: "convergence-test",
    KMS_LOCATION: "europe-west1",
    KMS_KEYRING: "vault",
    KMS_KEY: "credentials",
  };
  assert.equal(kmsKeyName(parts), KEY);
  assert.equal(kmsKeyName({ ...parts, KMS_KEY_NAME: KEY }), KEY);

  assert.throws(
    () => kmsKeyName({}),
    /set KMS_KEY_NAME, or all of .*\(missing: KMS_PROJECT_ID, KMS_LOCATION, KMS_KEYRING, KMS_KEY\)/,
  );
  assert.throws(
    () => kmsKeyName({ KMS_PROJECT_ID: "p", KMS_KEY: "k", KMS_LOCATION: " " }),
    /\(missing: KMS_LOCATION, KMS_KEYRING\)/,
  );
  assert.throws(
    () => kmsKeyName({ KMS_KEY_NAME: "projects/p/keyRings/r" }),
    /Invalid Cloud KMS key name "projects\/p\/keyRings\/r" from KMS_KEY_NAME/,
  );
  assert.throws(() => kmsKeyName({ ...parts, KMS_KEYRING: "a/b" }), /Invalid Cloud KMS key name/);
  assert.deepEqual(resolveKmsKeyName({ ...parts, KMS_KEY_NAME: KEY.replace("vault", "other") }), {
    ok: false,
    problems: [
      `KMS_KEY_NAME "${
        KEY.replace("vault", "other")
      }" disagrees with KMS_PROJECT_ID/KMS_LOCATION/KMS_KEYRING/KMS_KEY "${KEY}"`,
    ],
  });
  assert.throws(() => new CloudKmsKeyWrapper({ keyName: "credentials" }), /Invalid Cloud KMS key name "credentials"/);
});
