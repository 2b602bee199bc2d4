/** OpenAI subscription plans (org_openai_subscriptions): request schemas and the effective-dating definition. */
import { z } from "zod";
import type { TableSchema } from "../schema/table_schema.ts";
import { amount, day } from "./decimal.ts";
import type { DatedTable } from "./dated_table.ts";

/** A plan name: an upper-case letter, then upper-case letters, digits or `_`; at most 50 characters. */
export const PLAN_NAME = /^[A-Z][A-Z0-9_]{0,49}$/;
export const planName = z.string().regex(PLAN_NAME, "must be an upper-case letter, then A-Z, 0-9 or _ (max 50)");

/** Largest fixed fee or spend limit accepted, USD. */
export const MAX_FEE = "1000000000";

const count = () => z.int().min(0);
const notes = z.string().max(500).nullable().optional();

/** POST body: a new plan version. `effective_from` defaults to today (UTC), `billing_period` to monthly. */
export const subscriptionCreate = z.strictObject({
  plan_name: planName,
  quantity: count(),
  unit_price_usd: amount(MAX_FEE),
  billing_period: z.enum(["monthly", "yearly"]).default("monthly"),
  rpm_limit: count().nullable().optional(),
  tpm_limit: count().nullable().optional(),
  monthly_spend_limit_usd: amount(MAX_FEE).nullable().optional(),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
});
export type SubscriptionCreate = z.output<typeof subscriptionCreate>;

/** PUT body: the fields to change on the plan's current version (at least one). */
export const subscriptionUpdate = z.strictObject({
  quantity: count().optional(),
  unit_price_usd: amount(MAX_FEE).optional(),
  billing_period: z.enum(["monthly", "yearly"]).optional(),
  rpm_limit: count().nullable().optional(),
  tpm_limit: count().nullable().optional(),
  monthly_spend_limit_usd: amount(MAX_FEE).nullable().optional(),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
}).refine((v) => Object.keys(v).length > 0, { message: "Request body names no field to update" });
export type SubscriptionUpdate = z.output<typeof subscriptionUpdate>;

/** GET query: only this plan, only the rows in force on this UTC day. */
export const subscriptionQuery = z.strictObject({ plan_name: planName.optional(), as_of: day.optional() });

/** org_openai_subscriptions as an effective-dated table: one item per plan_name, one writer lock per org. */
export function subscriptionsTable(schema: TableSchema): DatedTable {
  return {
    schema,
    keys: ["plan_name"],
    lockKeys: [],
    overlapCode: "SUBSCRIPTION_OVERLAP",
    existsCode: "SUBSCRIPTION_EXISTS",
    describe: (k) => `Plan "${k.plan_name}"`,
  };
}

/** One org_openai_subscriptions version as costing reads it. */
export interface PlanRow {
  plan_name: string;
  quantity: unknown;
  unit_price_usd: string;
  billing_period: string;
  rpm_limit: number | null;
  tpm_limit: number | null;
  monthly_spend_limit_usd: string | null;
  effective_from: string;
  effective_to: string | null;
}
