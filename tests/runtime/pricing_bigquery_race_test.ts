/**
 * One version per price across two instances on one BigQuery warehouse: two `BigQueryWarehouse` clients (no shared
 * process, so no shared mutex) add the same new model at once, against the BigQuery stand-in that runs the SQL and
 * rejects conflicting concurrent DML as BigQuery does. One write wins; the other is a 409; one version is stored.
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { CENTRAL_DATASET } from "../../src/central/tables.ts";
import { startBigQueryStandIn } from "../standins/bigquery_rest.ts";
import { bigQueryClient } from "../_bigquery_twins.ts";
import { raceNewVersion } from "./_price_race.ts";

const SCHEMA = pipelines["setup/bootstrap"].tables.org_model_pricing;
const ORG = "bq_race_org";

Deno.test("two instances on the BigQuery stand-in adding one new model at once store one version (10 races)", async () => {
  const bq = startBigQueryStandIn({ dmlRunMillis: 5 });
  const [a, b] = [bigQueryClient(bq.url, "race-project"), bigQueryClient(bq.url, "race-project")];
  try {
    await a.ensureDataset(CENTRAL_DATASET);
    await a.ensureTable(CENTRAL_DATASET, SCHEMA);
    for (let i = 0; i < 10; i++) {
      const key = { provider: "openai", model_id: `bq-race-${i}` };
      await raceNewVersion(a, b, ORG, key, `race ${i}`);
      const stored = await a.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM ${CENTRAL_DATASET}.org_model_pricing WHERE org_slug = @org AND model_id = @model`,
        { org: ORG, model: key.model_id },
      );
      assert.equal(Number(stored[0]?.n), 1, `race ${i}: one version stored`);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
    await bq.close();
  }
});
