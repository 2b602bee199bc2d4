import assert from "node:assert/strict";
import { loadSettings } from "../../runtime/config.ts";
import { resolveRootKey } from "../../runtime/server.ts";

const GOOD_PROD = {
  ENVIRONMENT: "production",
  CA_ROOT_API_KEY: "p".repeat(40),
  WAREHOUSE: "bigquery",
  GCP_PROJECT_ID: "proj",
  KMS_KEY_NAME: "projects/p/locations/l/keyRings/r/cryptoKeys/k",
};

Deno.test("production start-up accepts a complete configuration", () => {
  assert.deepEqual(loadSettings(GOOD_PROD).problems, []);
});

Deno.test("production start-up refuses each bad setting, naming it", async (t) => {
  const cases: [Record<string, string | undefined>, RegExp][] = [
    [{ CA_ROOT_API_KEY: undefined }, /CA_ROOT_API_KEY is required/],
    [{ CA_ROOT_API_KEY: "short" }, /at least 32 characters/],
    [{ DISABLE_AUTH: "true" }, /DISABLE_AUTH must be false/],
    [{ RATE_LIMIT_ENABLED: "false" }, /RATE_LIMIT_ENABLED must be true/],
    [{ WAREHOUSE: "duckdb" }, /WAREHOUSE must be bigquery/],
    [{ GCP_PROJECT_ID: undefined }, /GCP_PROJECT_ID is required/],
    [{ KMS_KEY_NAME: undefined }, /KMS_KEY_NAME/],
    [{ GCP_TOKEN_URI: "http://127.0.0.1:9/token" }, /GCP_TOKEN_URI is for testing only/],
    [{ OPENAI_BASE_URL: "http://127.0.0.1:1234" }, /OPENAI_BASE_URL must use https/],
    [{ CORS_ORIGINS: "not json" }, /CORS_ORIGINS must be a JSON list/],
    [{ PORT: "99999" }, /PORT must be an integer/],
    [{ ENVIRONMENT: "prod" }, /ENVIRONMENT must be development, staging or production/],
  ];
  for (const [override, expected] of cases) {
    await t.step(`${Object.keys(override)[0]}`, () => {
      const env = { ...GOOD_PROD, ...override };
      const { problems } = loadSettings(env);
      assert.ok(problems.some((p) => expected.test(p)), `${JSON.stringify(override)} -> ${problems.join(" | ")}`);
    });
  }
  await t.step("every problem is listed at once", () => {
    const { problems } = loadSettings({ ENVIRONMENT: "production", DISABLE_AUTH: "true", RATE_LIMIT_ENABLED: "false" });
    assert.ok(problems.length >= 5, problems.join(" | "));
  });
  await t.step("the process exits non-zero and lists the problems", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../runtime/main.ts", import.meta.url).pathname],
      env: { ENVIRONMENT: "production", DISABLE_AUTH: "true", DATA_DIR: await Deno.makeTempDir() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 0);
    const err = new TextDecoder().decode(out.stderr);
    assert.match(err, /DISABLE_AUTH must be false/);
    assert.match(err, /CA_ROOT_API_KEY is required/);
  });
});

Deno.test("outside production a missing root key is generated once, stored 0600 and printed once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { settings } = loadSettings({ DATA_DIR: dir });
    const printed: string[] = [];
    const key = await resolveRootKey(settings, (l) => printed.push(l));
    assert.ok(key.length >= 32);
    assert.equal((await Deno.stat(`${dir}/root_api_key`)).mode! & 0o777, 0o600);
    assert.equal(printed.length, 1);
    assert.ok(printed[0]!.includes(key));
    const again = await resolveRootKey(settings, (l) => printed.push(l));
    assert.equal(again, key);
    assert.equal(printed.length, 1, "printed only the first time");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
