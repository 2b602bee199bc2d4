import assert from "node:assert/strict";
import { DeepSeekClient } from "../../src/providers/deepseek.ts";
import { DEEPSEEK_STANDIN_KEY, deepSeekDailySpendCents, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { assertNoSecret, fastRetries, providerError, serveJson } from "./_helpers.ts";

Deno.test("DeepSeekClient.validateKey() lists models with the Bearer key", async () => {
  const standIn = startDeepSeekStandIn();
  try {
    const models = await new DeepSeekClient({ apiKey: DEEPSEEK_STANDIN_KEY, baseUrl: standIn.baseUrl }).validateKey();
    assert.deepEqual(models.data.map((m) => m.id), ["deepseek-chat", "deepseek-reasoner"]);
    assert.equal(standIn.requests[0]!.path, "/models");
    assert.equal(standIn.requests[0]!.headers.authorization, `Bearer ${DEEPSEEK_STANDIN_KEY}`);
  } finally {
    await standIn.close();
  }
});

Deno.test("DeepSeekClient reports an invalid key as unauthorized without its last characters", async () => {
  const apiKey = "sk-deepseek-wrong-8f3a9c2e71b4";
  const standIn = startDeepSeekStandIn();
  try {
    const error = await providerError(
      new DeepSeekClient({ apiKey, baseUrl: standIn.baseUrl, ...fastRetries() }).validateKey(),
    );
    assert.equal(error.kind, "unauthorized");
    assert.match(error.message, /^DeepSeek GET \/models failed: 401 unauthorized \(invalid API key; the provider said/);
    assert.ok(!error.message.includes("71b4"), error.message);
    assertNoSecret(error.message, apiKey);
  } finally {
    await standIn.close();
  }
});

Deno.test("DeepSeekClient.balance() returns the balances as decimal strings", async () => {
  const standIn = startDeepSeekStandIn();
  try {
    const client = new DeepSeekClient({ apiKey: DEEPSEEK_STANDIN_KEY, baseUrl: standIn.baseUrl });
    assert.deepEqual(await client.balance(), {
      is_available: true,
      balance_infos: [{
        currency: "CNY",
        total_balance: "110.00",
        granted_balance: "10.00",
        topped_up_balance: "100.00",
      }],
    });
    standIn.setBalance(DEEPSEEK_STANDIN_KEY, [
      { currency: "USD", total_balance: "3.50", granted_balance: "0.00", topped_up_balance: "3.50" },
    ]);
    assert.equal((await client.balance()).balance_infos[0]!.total_balance, "3.50");
  } finally {
    await standIn.close();
  }
});

Deno.test("DeepSeek stand-in drains the balance by a deterministic daily spend, granted credit first", async () => {
  let now = Date.UTC(2025, 2, 1, 6);
  const standIn = startDeepSeekStandIn({ drainFrom: "2025-02-27", now: () => now });
  try {
    const client = new DeepSeekClient({ apiKey: DEEPSEEK_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const before = (await client.balance()).balance_infos[0]!;
    now += 86_400_000;
    const after = (await client.balance()).balance_infos[0]!;
    const spent = deepSeekDailySpendCents("", "2025-03-01");
    assert.equal(Math.round(Number(before.total_balance) * 100) - Math.round(Number(after.total_balance) * 100), spent);
    const firstTwo = deepSeekDailySpendCents("", "2025-02-27") + deepSeekDailySpendCents("", "2025-02-28");
    assert.equal(before.total_balance, ((11_000 - firstTwo) / 100).toFixed(2));
    assert.equal(before.granted_balance, ((Math.max(0, 1_000 - firstTwo)) / 100).toFixed(2));
  } finally {
    await standIn.close();
  }
});

Deno.test("DeepSeekClient.balance() rejects an amount that is not a decimal string", async () => {
  const fake = serveJson(() =>
    Response.json({
      is_available: true,
      balance_infos: [{ currency: "CNY", total_balance: 110, granted_balance: "1e2", topped_up_balance: "10" }],
    })
  );
  try {
    const error = await providerError(new DeepSeekClient({ apiKey: "sk-x1", baseUrl: fake.url }).balance());
    assert.equal(error.kind, "malformed");
    assert.match(error.message, /"balance_infos\[0\]\.total_balance"/);
  } finally {
    await fake.close();
  }
});

Deno.test("DeepSeekClient retries a 503 and then succeeds", async () => {
  const standIn = startDeepSeekStandIn({ fail5xx: 2 });
  try {
    const retries = fastRetries();
    await new DeepSeekClient({ apiKey: DEEPSEEK_STANDIN_KEY, baseUrl: standIn.baseUrl, ...retries }).balance();
    assert.equal(standIn.requests.length, 3);
    assert.equal(retries.waits.length, 2);
  } finally {
    await standIn.close();
  }
});
