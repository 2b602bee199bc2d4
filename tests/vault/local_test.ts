/**
 * The local key wrapper's key-encryption key file: creation, reuse, refusal
 * of unsafe files, and concurrent first starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KeyVault, LocalKeyWrapper, openLocalKeyWrapper } from "../../src/vault/mod.ts";
import { assertVaultError } from "./_contract.ts";

const AAD = { org_slug: "acme", provider: "anthropic" };
const SECRET = "sk-ant-admin01-0123456789abcdef";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vault_local_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("openLocalKeyWrapper() creates a 32-byte key file with mode 0600", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "data", "kek.key");
    await openLocalKeyWrapper(path);
    const info = await Deno.stat(path);
    assert.equal(info.size, 32);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual(await listDir(join(dir, "data")), ["kek.key"]); // no temporary file left
  });
});

Deno.test("openLocalKeyWrapper() reuses the key file, so envelopes survive a restart", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    const first = new KeyVault(await openLocalKeyWrapper(path));
    const kek = await Deno.readFile(path);
    const envelope = await first.encrypt(SECRET, AAD);
    const second = new KeyVault(await openLocalKeyWrapper(path));
    assert.equal(await second.decrypt(envelope, AAD), SECRET);
    assert.deepEqual(await Deno.readFile(path), kek);
  });
});

Deno.test("a vault with a different key file cannot decrypt", async () => {
  await withTempDir(async (dir) => {
    const mine = new KeyVault(await openLocalKeyWrapper(join(dir, "a", "kek.key")));
    const theirs = new KeyVault(await openLocalKeyWrapper(join(dir, "b", "kek.key")));
    const envelope = await mine.encrypt(SECRET, AAD);
    await assertVaultError(theirs.decrypt(envelope, AAD), "VAULT_DECRYPT_FAILED", [SECRET, envelope]);
  });
});

Deno.test("openLocalKeyWrapper() refuses a key file of the wrong length without showing it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    for (const length of [0, 16, 31, 33, 64]) {
      const content = new Uint8Array(length).fill(0x41);
      await Deno.writeFile(path, content, { mode: 0o600 });
      await Deno.chmod(path, 0o600);
      const error = await openLocalKeyWrapper(path).then(() => assert.fail("opened"), (e) => e);
      assert.match(error.message, new RegExp(`holds ${length} bytes, expected 32`));
      assert.ok(error.message.includes(path));
      assert.ok(!error.message.includes("AAAA"));
      assert.equal((await Deno.readFile(path)).length, length, "the file was not replaced");
    }
  });
});

Deno.test("openLocalKeyWrapper() refuses a key file others may read or write", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    await openLocalKeyWrapper(path);
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await Deno.chmod(path, mode);
      await assert.rejects(openLocalKeyWrapper(path), /lets others read or write it \(run: chmod 600/);
    }
    await Deno.chmod(path, 0o400); // read-only for the owner is fine
    await openLocalKeyWrapper(path);
  });
});

Deno.test("openLocalKeyWrapper() refuses a directory in place of the key file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    await Deno.mkdir(path, { mode: 0o700 });
    await assert.rejects(openLocalKeyWrapper(path), /not a regular file/);
  });
});

Deno.test("LocalKeyWrapper.fromKey() accepts only 32-byte keys", async () => {
  await assert.rejects(LocalKeyWrapper.fromKey(new Uint8Array(16)), RangeError);
  const wrapper = await LocalKeyWrapper.fromKey(new Uint8Array(32));
  const wrapped = await wrapper.wrap(new Uint8Array(32).fill(7), "acme|gcp");
  assert.equal(wrapped.length, 60);
  assert.deepEqual(await wrapper.unwrap(wrapped, "acme|gcp"), new Uint8Array(32).fill(7));
  await assertVaultError(wrapper.unwrap(wrapped, "acme|gcq"), "VAULT_DECRYPT_FAILED");
  await assertVaultError(wrapper.unwrap(wrapped.subarray(1), "acme|gcp"), "VAULT_DECRYPT_FAILED");
});

Deno.test("concurrent first opens in one process agree on one key", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    const vaults = (await Promise.all(Array.from({ length: 8 }, () => openLocalKeyWrapper(path))))
      .map((wrapper) => new KeyVault(wrapper));
    const envelopes = await Promise.all(vaults.map((v, i) => v.encrypt(`${SECRET}-${i}`, AAD)));
    for (const vault of vaults) {
      for (const [i, envelope] of envelopes.entries()) {
        assert.equal(await vault.decrypt(envelope, AAD), `${SECRET}-${i}`);
      }
    }
    assert.deepEqual(await listDir(dir), ["kek.key"]);
  });
});

Deno.test("processes starting at once agree on one key: the loser reads the winner's", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "kek.key");
    const local = new URL("../../src/vault/mod.ts", import.meta.url).href;
    const script = `
      import { KeyVault, openLocalKeyWrapper } from ${JSON.stringify(local)};
      const [dir, id] = Deno.args;
      await Deno.writeTextFile(dir + "/ready-" + id, "");
      while (true) { try { Deno.statSync(dir + "/go"); break; } catch { await new Promise((r) => setTimeout(r, 1)); } }
      const vault = new KeyVault(await openLocalKeyWrapper(dir + "/kek.key"));
      console.log(await vault.encrypt("secret-" + id, { org_slug: "acme", provider: "anthropic" }));
    `;
    const count = 4;
    const children = Array.from({ length: count }, (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", script, dir, String(i)],
        stdout: "piped",
        stderr: "piped",
      }).output());
    const deadline = Date.now() + 30_000;
    while ((await listDir(dir)).filter((n) => n.startsWith("ready-")).length < count) {
      assert.ok(Date.now() < deadline, "the child processes did not start");
      await new Promise((r) => setTimeout(r, 5));
    }
    await Deno.writeTextFile(join(dir, "go"), "");
    const outputs = await Promise.all(children);
    const vault = new KeyVault(await openLocalKeyWrapper(path));
    for (const [i, output] of outputs.entries()) {
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const envelope = new TextDecoder().decode(output.stdout).trim();
      assert.equal(await vault.decrypt(envelope, AAD), `secret-${i}`);
    }
    assert.deepEqual((await listDir(dir)).filter((n) => !/^(ready-\d|go)$/.test(n)), ["kek.key"]);
  });
});
