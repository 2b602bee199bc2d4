/** The stand-ins themselves: determinism, consistency across groupings, auth and cursor checks. */
import assert from "node:assert/strict";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";
import { OPENAI_STANDIN_KEY, openAIUsageRows, startOpenAIStandIn } from "../standins/openai.ts";

const JAN1 = Date.UTC(2025, 0, 1) / 1000;

async function getJson(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

Deno.test("OpenAI stand-in: usage totals are the same however they are grouped", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const auth = { authorization: `Bearer ${OPENAI_STANDIN_KEY}` };
    const base = `${standIn.baseUrl}/organization/usage/completions?start_time=${JAN1}&end_time=${JAN1 + 86_400}`;
    const sum = (body: { data: { results: { input_tokens: number }[] }[] }) =>
      body.data[0]!.results.reduce((n, r) => n + r.input_tokens, 0);
    const all = await getJson(base, auth);
    const byModel = await getJson(`${base}&group_by=model`, auth);
    const byBoth = await getJson(`${base}&group_by=model&group_by=project_id`, auth);
    assert.equal(all.body.data[0].results.length, 1);
    assert.equal(all.body.data[0].results[0].model, null);
    assert.equal(sum(all.body), sum(byModel.body));
    assert.equal(sum(all.body), sum(byBoth.body));
    assert.equal(sum(all.body), openAIUsageRows("", JAN1).reduce((n, r) => n + r.input_tokens, 0));
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAI stand-in: seeds tell orgs apart, days limit usage, bad cursors and parameters are 400", async () => {
  const standIn = startOpenAIStandIn({
    keys: { "sk-admin-a": { seed: "org-a" }, "sk-admin-b": { seed: "org-b" } },
    days: { from: "2025-01-02" },
  });
  try {
    const url = (key: string, q: string) =>
      getJson(`${standIn.baseUrl}/organization/usage/completions?${q}`, { authorization: `Bearer ${key}` });
    const q = `start_time=${JAN1}&end_time=${JAN1 + 2 * 86_400}`;
    const a = await url("sk-admin-a", q);
    const b = await url("sk-admin-b", q);
    assert.deepEqual(a.body.data[0].results, [], "no usage before days.from");
    assert.notDeepEqual(a.body.data[1].results, b.body.data[1].results);
    assert.equal((await url("sk-admin-a", `${q}&page=page_bogus`)).status, 400);
    assert.equal((await url("sk-admin-a", `${q}&limit=32`)).body.error.param, "limit");
    assert.equal((await url("sk-admin-a", `${q}&group_by=line_item`)).status, 400);
    const other = await url("sk-admin-a", `start_time=${JAN1}&end_time=${JAN1 + 9 * 86_400}&limit=2`);
    const foreign = await url("sk-admin-a", `${q}&page=${other.body.next_page}`);
    assert.equal(foreign.status, 400, "a cursor only works for its own query");
    const missing = await getJson(`${standIn.baseUrl}/organization/usage/completions?${q}`, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.type, "invalid_request_error");
  } finally {
    await standIn.close();
  }
});

Deno.test("Anthropic stand-in: requires anthropic-version and answers unknown keys in Anthropic's error shape", async () => {
  const standIn = startAnthropicStandIn();
  try {
    const url = `${standIn.url}/v1/organizations/usage_report/messages?starting_at=2025-01-01T00:00:00Z`;
    const noVersion = await getJson(url, { "x-api-key": ANTHROPIC_STANDIN_KEY });
    assert.equal(noVersion.status, 400);
    assert.equal(noVersion.body.error.type, "invalid_request_error");
    const unknown = await getJson(url, { "x-api-key": "sk-ant-nope", "anthropic-version": "2023-06-01" });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body.error, { type: "authentication_error", message: "invalid x-api-key" });
    assert.equal(unknown.body.type, "error");
    const ok = await getJson(`${url}&ending_at=2025-01-03T00:00:00Z&group_by[]=workspace_id`, {
      "x-api-key": ANTHROPIC_STANDIN_KEY,
      "anthropic-version": "2023-06-01",
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.data.map((b: { starting_at: string }) => b.starting_at), [
      "2025-01-01T00:00:00Z",
      "2025-01-02T00:00:00Z",
    ]);
    const workspaces = ok.body.data[0].results.map((r: { workspace_id: string | null }) => r.workspace_id);
    assert.ok(workspaces.includes(null), "the default workspace reports workspace_id null");
  } finally {
    await standIn.close();
  }
});
