import { startSecurityHarness, ORG_A, ORG_B, guardFetch, startConnectionCounter } from "./_kit.ts";
import { generateTestServiceAccount } from "../standins/gcp_oauth.ts";
const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
const g = guardFetch();
const cc = startConnectionCounter();
await Deno.mkdir(`${h.dataDir}/imports`, { recursive: true });
const outside = await Deno.makeTempDir();
await Deno.writeTextFile(`${outside}/secret.jsonl`, '{"secret":"outside"}\n');
await Deno.symlink(`${outside}/secret.jsonl`, `${h.dataDir}/imports/link.jsonl`);
await Deno.symlink(`${h.dataDir}/kek.key`, `${h.dataDir}/imports/kek.csv`);
for (const t of ["link.jsonl", "kek.csv", `http://127.0.0.1:${cc.port}/x.jsonl`, "s3://b/x.parquet", "a/../../kek.key", "x.jsonl?", "billing.JSONL", "https:/127.0.0.1/x.csv"]) {
  const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/gcp/setup`, { key: h.keys[ORG_A], body: { credential: h.serviceAccount, billing_export_table: t } });
  console.log(t, r.status, r.text.slice(0, 250));
}
// staging-like: token_uri used as given
const sa = await generateTestServiceAccount({ tokenUri: `https://169.254.169.254/token` });
(h.deps.env as any).gcpTokenUri = undefined;
delete (h.deps.env as any).gcpTokenUri;
const r = await h.request("POST", `/api/v1/integrations/${ORG_B}/gcp/setup`, { key: h.keys[ORG_B], body: { credential: sa.json, billing_export_table: "link.jsonl" } });
console.log("dev token_uri", r.status, r.text.slice(0, 300), g.attempts);
(h.deps.env as any).environment = "production";
const r2 = await h.request("POST", `/api/v1/integrations/${ORG_B}/gcp/setup`, { key: h.keys[ORG_B], body: { credential: sa.json, billing_export_table: "link.jsonl" } });
console.log("prod token_uri", r2.status, r2.text.slice(0, 300), g.attempts.length, cc.count);
g.restore(); cc.close();
await h.shutdown();
