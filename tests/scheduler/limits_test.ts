/** waitReason() and mayPassLater(): which start refusals make a queued item wait, defer, retry or fail. */
import assert from "node:assert/strict";
import { mayPassLater, waitReason } from "../../src/scheduler/limits.ts";
import { AppError } from "../../src/errors/mod.ts";

const NOW = new Date("2026-12-04T21:00:00Z");
const quota = (details: Record<string, unknown>) => new AppError("QUOTA_EXCEEDED", "limit", { details });

Deno.test("waitReason() defers daily and monthly limits to their reset and waits on busy slots", () => {
  const daily = waitReason(quota({ limit: "daily", used: 6, max: 6, plan: "STARTER" }), NOW);
  assert.equal(daily?.until?.toISOString(), "2026-12-05T00:00:00.000Z");
  assert.match(daily!.reason, /^deferred: plan limit of runs per day reached \(6 of 6, plan STARTER\) until /);
  const monthly = waitReason(quota({ limit: "monthly", used: 180, max: 180 }), NOW);
  assert.equal(monthly?.until?.toISOString(), "2027-01-01T00:00:00.000Z");
  const slot = waitReason(quota({ limit: "concurrent", used: 1, max: 1, retry_after_seconds: 5 }), NOW);
  assert.equal(slot?.until, undefined);
  assert.equal(slot?.retryAfterMs, 5000);
  assert.match(slot!.reason, /^waiting: /);
  const running = waitReason(new AppError("RUN_IN_PROGRESS", "already running"), NOW);
  assert.equal(running?.reason, "waiting: already running");
});

Deno.test("waitReason() waits on a contended claim (nothing started) but fails on other refusals", () => {
  const contended = waitReason(new AppError("CLAIM_CONTENDED", "lost the race"), NOW);
  assert.equal(contended?.until, undefined);
  assert.ok((contended?.retryAfterMs ?? 0) > 0, "a contended claim is tried again after a pause");
  assert.equal(waitReason(new AppError("INTEGRATION_NOT_READY", "not ready"), NOW), undefined);
  assert.equal(waitReason(new AppError("VAULT_UNAVAILABLE", "down"), NOW), undefined);
  assert.equal(waitReason(new Error("boom"), NOW), undefined);
});

Deno.test("a refused start is tried again only when the failure may pass: unexpected or transient, not a refusal", () => {
  assert.equal(mayPassLater(new Error("socket hang up")), true);
  assert.equal(mayPassLater(new AppError("WAREHOUSE_UNAVAILABLE", "reopening")), true);
  assert.equal(mayPassLater(new AppError("VAULT_UNAVAILABLE", "down")), true);
  assert.equal(mayPassLater(new AppError("VALIDATION_ERROR", 'Field "start_date": bad')), false);
  assert.equal(mayPassLater(new AppError("INTEGRATION_NOT_READY", "not ready")), false);
});
