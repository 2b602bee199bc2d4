/**
 * `deno task demo`: the product on the embedded default with built-in provider simulators on loopback, for
 * people without provider accounts (the flow is demo/flow.ts). Prints what it set up and ran, the reconciliation
 * of the demo days (list against billed per provider, every gap with its reason), and what to call next.
 */
import { DEMO_ORG, demoReconciliation, reconciliationLines, startDemo } from "./flow.ts";

const demo = await startDemo({
  dataDir: Deno.env.get("DEMO_DATA_DIR") ?? "./data-demo",
  port: Deno.env.get("PORT") ?? "8000",
  logLevel: Deno.env.get("LOG_LEVEL"),
});
for (const s of demo.steps) console.log(`${s.what.padEnd(30)} ${s.outcome} ${s.failure}`);
console.log(
  `\nReconciliation ${demo.start} to ${demo.end} (list = usage at list prices, billed = what the provider reports):`,
);
for (const line of reconciliationLines(await demoReconciliation(demo))) console.log(`  ${line}`);

const { url, orgKey, start, end } = demo;
console.log(`
Convergence demo is running at ${url} (data in ${
  Deno.env.get("DEMO_DATA_DIR") ?? "./data-demo"
}; provider simulators on loopback).
  root key:    ${demo.rootKey}
  org key:     ${orgKey}   (org "${DEMO_ORG}")

Try:
  curl -s ${url}/api/v1/integrations/${DEMO_ORG} -H "X-API-Key: ${orgKey}"
  curl -s "${url}/api/v1/costs/${DEMO_ORG}?start=${start}&end=${end}&group_by=provider" -H "X-API-Key: ${orgKey}"
  curl -s "${url}/api/v1/costs/${DEMO_ORG}/reconciliation?start=${start}&end=${end}" -H "X-API-Key: ${orgKey}"
  curl -s ${url}/api/v1/pipelines/runs/${DEMO_ORG} -H "X-API-Key: ${orgKey}"
  curl -s -X POST "${url}/api/v1/pipelines/run/${DEMO_ORG}/openai/usage_cost?wait=true" -H "X-API-Key: ${orgKey}" \\
       -H "Content-Type: application/json" -d '{"start_date":"${start}"}'
  curl -s ${url}/api/v1/openapi.json
Ctrl-C stops it.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await demo.close();
    Deno.exit(0);
  });
}
