/** DISABLE_AUTH is a development switch: any other environment refuses to start with it (SPEC section 3). */
import assert from "node:assert/strict";
import { loadSettings } from "../../runtime/config.ts";

Deno.test("DISABLE_AUTH=true is refused in staging and listed with the other problems", () => {
  const { problems } = loadSettings({ ENVIRONMENT: "staging", DISABLE_AUTH: "true", PORT: "x" });
  assert.ok(problems.some((p) => /DISABLE_AUTH must be false outside development/.test(p)), problems.join(" | "));
  assert.ok(problems.some((p) => /PORT must be an integer/.test(p)), problems.join(" | "));
});

Deno.test("DISABLE_AUTH=true is still accepted in development", () => {
  const { settings, problems } = loadSettings({ ENVIRONMENT: "development", DISABLE_AUTH: "true" });
  assert.deepEqual(problems, []);
  assert.equal(settings.disableAuth, true);
});

Deno.test("a staging process with DISABLE_AUTH=true exits non-zero before serving anything", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "conv-noauth-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../runtime/main.ts", import.meta.url).pathname],
      env: { ENVIRONMENT: "staging", DISABLE_AUTH: "true", DATA_DIR: dataDir, PORT: "0", SCHEDULER_ENABLED: "false" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0, text);
    assert.match(text, /DISABLE_AUTH must be false outside development/);
    assert.doesNotMatch(text, /"msg":"listening"/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
