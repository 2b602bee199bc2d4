import assert from "node:assert/strict";
import { mintAccessToken, parseServiceAccount } from "../../src/providers/gcp.ts";
import { AppError } from "../../src/errors/mod.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { fastRetries, providerError } from "./_helpers.ts";

const account = await generateTestServiceAccount();
const keyFile = JSON.parse(account.json);
const pemBody = keyFile.private_key.split("\n")[3] as string;

function decodeJwtPart(part: string): Record<string, unknown> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
}

Deno.test("parseServiceAccount() accepts a Google key file", () => {
  const sa = parseServiceAccount(account.json);
  assert.equal(sa.type, "service_account");
  assert.equal(sa.client_email, account.clientEmail);
  assert.equal(sa.private_key_id, account.keyId);
  assert.equal(sa.token_uri, "https://oauth2.googleapis.com/token");
});

Deno.test("parseServiceAccount() names the bad field and never echoes the key", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", account.json.slice(0, -20), /is not valid JSON$/],
    ["an array", "[]", /must be a JSON object$/],
    ["a user credential", JSON.stringify({ ...keyFile, type: "authorized_user" }), /"type" must be "service_account"/],
    ["no project", JSON.stringify({ ...keyFile, project_id: undefined }), /"project_id" is missing/],
    ["an empty key id", JSON.stringify({ ...keyFile, private_key_id: " " }), /"private_key_id" must be a non-empty/],
    [
      "a key that is not PEM",
      JSON.stringify({ ...keyFile, private_key: pemBody }),
      /"private_key" must be a PKCS#8 PEM/,
    ],
    ["a bad email", JSON.stringify({ ...keyFile, client_email: "robot" }), /"client_email" must be an email/],
    [
      "an http token_uri",
      JSON.stringify({ ...keyFile, token_uri: "http://oauth2.googleapis.com/token" }),
      /"token_uri" must be an https URL/,
    ],
  ];
  for (const [name, json, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseServiceAccount(json), (e) => {
        assert.ok(e instanceof AppError && e.code === "SERVICE_ACCOUNT_INVALID");
        assert.match(e.message, message);
        assert.ok(!e.message.includes(pemBody.slice(0, 16)), "no key material in the message");
        assert.equal(e.cause, undefined);
        return true;
      });
    });
  }
});

Deno.test("mintAccessToken() runs the RS256 JWT-bearer grant against the token endpoint", async () => {
  const standIn = startGcpOAuthStandIn({ accounts: { [account.clientEmail]: account.publicKey } });
  try {
    const sa = parseServiceAccount(account.json);
    const token = await mintAccessToken(sa, { tokenUri: standIn.tokenUri });
    assert.match(token.access_token, /^ya29\.standin-/);
    assert.equal(token.expires_in, 3599);
    assert.equal(token.token_type, "Bearer");
    assert.deepEqual(standIn.issued.map((i) => i.access_token), [token.access_token]);

    const [req] = standIn.requests;
    assert.equal(req!.method, "POST");
    assert.equal(req!.headers["content-type"], "application/x-www-form-urlencoded");
    const form = new URLSearchParams(req!.body);
    assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
    const [header, claims] = form.get("assertion")!.split(".").slice(0, 2).map(decodeJwtPart) as [
      Record<string, unknown>,
      Record<string, number | string>,
    ];
    assert.deepEqual(header, { alg: "RS256", typ: "JWT", kid: account.keyId });
    assert.equal(claims.iss, account.clientEmail);
    assert.equal(claims.scope, "https://www.googleapis.com/auth/cloud-platform");
    assert.equal(claims.aud, standIn.tokenUri);
    assert.equal(Number(claims.exp) - Number(claims.iat), 3600);
    assert.ok(Math.abs(Number(claims.iat) - Date.now() / 1000) < 60);
  } finally {
    await standIn.close();
  }
});

Deno.test("mintAccessToken() with a key Google does not know fails as unauthorized without leaking it", async (t) => {
  const other = await generateTestServiceAccount();
  const standIn = startGcpOAuthStandIn({ accounts: { [account.clientEmail]: other.publicKey } });
  try {
    await t.step("wrong key: invalid signature", async () => {
      const sa = parseServiceAccount(account.json);
      const error = await providerError(mintAccessToken(sa, { tokenUri: standIn.tokenUri, ...fastRetries() }));
      assert.equal(error.kind, "unauthorized");
      assert.equal(error.status, 400);
      assert.match(
        error.message,
        /^GCP POST 127\.0\.0\.1:\d+\/token failed: 400 unauthorized \(the service account key was rejected \(invalid_grant\); the provider said "Invalid JWT Signature\."\)$/,
      );
      assert.ok(!error.message.includes(pemBody.slice(0, 16)));
      assert.equal(standIn.requests.length, 1, "a rejected grant is not retried");
    });
    await t.step("unknown account", async () => {
      const stranger = await generateTestServiceAccount({ clientEmail: "stranger@elsewhere.iam.gserviceaccount.com" });
      const sa = parseServiceAccount(stranger.json);
      const error = await providerError(mintAccessToken(sa, { tokenUri: standIn.tokenUri }));
      assert.equal(error.kind, "unauthorized");
      assert.match(error.message, /account not found/);
    });
  } finally {
    await standIn.close();
  }
});

Deno.test("mintAccessToken() retries an unavailable token endpoint", async () => {
  const standIn = startGcpOAuthStandIn({ accounts: { [account.clientEmail]: account.publicKey }, fail5xx: 1 });
  try {
    const token = await mintAccessToken(parseServiceAccount(account.json), {
      tokenUri: standIn.tokenUri,
      scope: "https://www.googleapis.com/auth/bigquery.readonly",
      ...fastRetries(),
    });
    assert.equal(token.expires_in, 3599);
    assert.equal(standIn.requests.length, 2);
    assert.equal(standIn.issued[0]!.scope, "https://www.googleapis.com/auth/bigquery.readonly");
  } finally {
    await standIn.close();
  }
});

Deno.test("mintAccessToken() refuses a private key that is PEM but not an RSA key", async () => {
  const sa = parseServiceAccount(JSON.stringify({
    ...keyFile,
    private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
  }));
  await assert.rejects(
    mintAccessToken(sa),
    (e) => e instanceof AppError && e.code === "SERVICE_ACCOUNT_INVALID" && /not a usable RSA/.test(e.message),
  );
});
