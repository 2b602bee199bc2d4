/**
 * The race both price-race suites run: two writers (two warehouse objects, so no shared in-process mutex) add the
 * same new version of one model at once. Exactly one wins; the loser's 409 AppError is returned for
 * the caller's own checks (its code, what was stored).
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { PriceStore } from "../../src/central/prices.ts";
import { pricesTable } from "../../src/pricing/mod.ts";
import { AppError } from "../../src/errors/mod.ts";
import { statusOf } from "../../runtime/error_status.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";

const TABLES = pipelines["setup/bootstrap"].tables;
const TABLE = pricesTable(TABLES.org_model_pricing);

/** A version from 2025-06-01 with an open end, input priced at `input` per 1M tokens. */
const version = (input: string) => ({
  input_per_1m: input,
  output_per_1m: "1",
  currency: "USD",
  effective_from: "2025-06-01",
  effective_to: null,
});

/** Races `first` and `second` adding `key` for `org`; asserts one wins and the other is a 409, which it returns. */
export async function raceNewVersion(
  first: Warehouse,
  second: Warehouse,
  org: string,
  key: { provider: string; model_id: string },
  label: string,
): Promise<AppError> {
  const now = new Date();
  const results = await Promise.allSettled([
    new PriceStore(first, TABLES).addVersion(TABLE, org, key, version("1"), now),
    new PriceStore(second, TABLES).addVersion(TABLE, org, key, version("2"), now),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, `${label}: exactly one writer wins`);
  const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.ok(lost.reason instanceof AppError, String(lost.reason));
  assert.equal(statusOf(lost.reason.code), 409);
  return lost.reason;
}
