/**
 * The OpenAI stand-in and the product's endpoint table against the official SDK (`openai` 7.60.0,
 * `client.admin.organization.usage.*`): the SDK itself calls every Usage endpoint and the Costs endpoint of the
 * stand-in with the group-by the product sends, the answers parse with the product's page schemas, and, at type
 * level, every field the product reads is a field of the SDK's result type (a renamed or removed field fails
 * `deno check`).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import type {
  UsageAudioSpeechesResponse,
  UsageAudioTranscriptionsResponse,
  UsageCodeInterpreterSessionsResponse,
  UsageCompletionsResponse,
  UsageCostsResponse,
  UsageDecisionsResponse,
  UsageEmbeddingsResponse,
  UsageFileSearchCallsResponse,
  UsageImagesResponse,
  UsageModerationsResponse,
  UsageVectorStoresResponse,
  UsageWebSearchCallsResponse,
} from "openai/resources/admin/organization/usage";
import { OPENAI_USAGE_ENDPOINTS, type OpenAIUsageEndpoint } from "../../src/providers/openai_usage.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "./openai.ts";

/** The SDK's result type of each endpoint (every endpoint's bucket lists the same union of result types). */
interface SdkResults {
  completions: UsageImagesResponse.Data.OrganizationUsageCompletionsResult;
  decisions: UsageDecisionsResponse.Data["results"][number];
  embeddings: UsageImagesResponse.Data.OrganizationUsageEmbeddingsResult;
  moderations: UsageImagesResponse.Data.OrganizationUsageModerationsResult;
  images: UsageImagesResponse.Data.OrganizationUsageImagesResult;
  audio_speeches: UsageImagesResponse.Data.OrganizationUsageAudioSpeechesResult;
  audio_transcriptions: UsageImagesResponse.Data.OrganizationUsageAudioTranscriptionsResult;
  vector_stores: UsageImagesResponse.Data.OrganizationUsageVectorStoresResult;
  code_interpreter_sessions: UsageImagesResponse.Data.OrganizationUsageCodeInterpreterSessionsResult;
  file_search_calls: UsageImagesResponse.Data.OrganizationUsageFileSearchesResult;
  web_search_calls: UsageImagesResponse.Data.OrganizationUsageWebSearchesResult;
}
type Ours<E extends OpenAIUsageEndpoint> =
  | keyof (typeof OPENAI_USAGE_ENDPOINTS)[E]["measures"]
  | (typeof OPENAI_USAGE_ENDPOINTS)[E]["groupBy"][number];
/** `true` only when every field the product reads of endpoint E is a field of the SDK's result type. */
type ReadsOnlySdkFields<E extends OpenAIUsageEndpoint> = Exclude<Ours<E>, keyof SdkResults[E]> extends never ? true
  : { missing: Exclude<Ours<E>, keyof SdkResults[E]> };
/** The SDK's required measures of a result, all of which the product must read (a dropped SDK measure fails). */
type Required<T> = { [K in keyof T]-?: undefined extends T[K] ? never : T[K] extends number ? K : never }[keyof T];
type ReadsRequired<E extends OpenAIUsageEndpoint> = Exclude<Required<SdkResults[E]>, Ours<E>> extends never ? true
  : { unread: Exclude<Required<SdkResults[E]>, Ours<E>> };
/** Compiles only while both hold for every endpoint (`true & true`; a failing one makes its entry unassignable). */
const agree: { [E in OpenAIUsageEndpoint]: ReadsOnlySdkFields<E> & ReadsRequired<E> } = {
  completions: true,
  decisions: true,
  embeddings: true,
  moderations: true,
  images: true,
  audio_speeches: true,
  audio_transcriptions: true,
  vector_stores: true,
  code_interpreter_sessions: true,
  file_search_calls: true,
  web_search_calls: true,
};

/** The SDK method of each endpoint. */
const METHOD: Record<OpenAIUsageEndpoint, string> = {
  completions: "completions",
  decisions: "decisions",
  embeddings: "embeddings",
  moderations: "moderations",
  images: "images",
  audio_speeches: "audioSpeeches",
  audio_transcriptions: "audioTranscriptions",
  vector_stores: "vectorStores",
  code_interpreter_sessions: "codeInterpreterSessions",
  file_search_calls: "fileSearchCalls",
  web_search_calls: "webSearchCalls",
};
type AnyPage =
  | UsageCompletionsResponse
  | UsageDecisionsResponse
  | UsageEmbeddingsResponse
  | UsageModerationsResponse
  | UsageImagesResponse
  | UsageAudioSpeechesResponse
  | UsageAudioTranscriptionsResponse
  | UsageVectorStoresResponse
  | UsageCodeInterpreterSessionsResponse
  | UsageFileSearchCallsResponse
  | UsageWebSearchCallsResponse;

Deno.test("the official SDK reads every Usage endpoint of the stand-in, and the product's schemas parse it", async () => {
  assert.ok(Object.values(agree).every((v) => v === true));
  const standIn = startOpenAIStandIn();
  const client = new OpenAI({ apiKey: "unused", adminAPIKey: OPENAI_STANDIN_KEY, baseURL: standIn.baseUrl });
  const start = Date.parse("2025-03-01T00:00:00Z") / 1000;
  try {
    for (
      const [endpoint, def] of Object.entries(OPENAI_USAGE_ENDPOINTS) as [
        OpenAIUsageEndpoint,
        typeof OPENAI_USAGE_ENDPOINTS[OpenAIUsageEndpoint],
      ][]
    ) {
      const usage = client.admin.organization.usage as unknown as Record<
        string,
        (q: Record<string, unknown>) => Promise<AnyPage>
      >;
      const page = await usage[METHOD[endpoint]]!({
        start_time: start,
        end_time: start + 3 * 86_400,
        bucket_width: "1d",
        group_by: [...def.groupBy],
        limit: 3,
      });
      assert.equal(page.object, "page", endpoint);
      assert.equal(page.data.length, 3, `${endpoint}: one bucket per day`);
      const results = (page.data as { results: unknown[] }[]).flatMap((b) => b.results) as Record<string, unknown>[];
      assert.ok(results.length > 0, `${endpoint} has results`);
      for (const r of results) {
        assert.equal(r.object, def.resultObject, endpoint);
        for (const m of Object.keys(def.measures)) {
          const kind = def.measureKinds[m as keyof typeof def.measureKinds];
          if (r[m] === undefined || r[m] === null) continue; // an optional split the SDK allows to be absent
          assert.equal(typeof r[m], "number", `${endpoint}.${m}`);
          if (kind === "int") assert.ok(Number.isInteger(r[m]), `${endpoint}.${m} is a whole count`);
        }
        for (const g of def.groupBy) assert.ok(g in r, `${endpoint} result has its ${g} dimension`);
      }
      const parsed = def.pageSchema.safeParse(page);
      assert.ok(parsed.success, `${endpoint}: ${JSON.stringify(parsed.error?.issues?.slice(0, 2))}`);
    }
    const costs: UsageCostsResponse = await client.admin.organization.usage.costs({
      start_time: start,
      end_time: start + 86_400,
      bucket_width: "1d",
      group_by: ["line_item", "project_id"],
    });
    const lines = costs.data.flatMap((b) => b.results) as unknown as Record<string, unknown>[];
    assert.ok(lines.length > 0);
    for (const line of lines) {
      assert.equal(line.object, "organization.costs.result");
      const amount = line.amount as { value: number; currency: string };
      assert.equal(typeof amount.value, "number");
      assert.equal(amount.currency, "usd");
      assert.ok(line.line_item === null || typeof line.line_item === "string");
    }
    assert.ok(lines.some((l) => typeof l.line_item === "string" && l.line_item.includes(", ")), "named line items");
  } finally {
    await standIn.close();
  }
});
