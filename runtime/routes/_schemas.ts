/** Schemas several route files share: path params, queue counts, amounts and timestamps as responses show them. */
import { z } from "zod";
import { NO_MODEL_PRICES, PRICED_SLUGS, PROVIDER_SLUGS, PROVIDERS } from "../../src/providers/catalogue.ts";

/** `{org_slug}`: whose data (the key's org must match it; the root key may name any org on root_or_org routes). */
export const orgSlug = z.string().meta({ description: "The organization's slug, e.g. acme_corp" });
export const orgParams = z.object({ org_slug: orgSlug });

/** `{provider}` of the integration routes; another value is 404. */
export const providerParam = z.enum(PROVIDER_SLUGS, {
  error: (i) => `Unknown provider "${String(i.input)}"; expected one of ${PROVIDER_SLUGS.join(", ")}`,
}).meta({ description: "The provider" });

/** `{provider}` of the pricing routes (providers priced per token); another value is 404. */
const PRICED = PRICED_SLUGS as unknown as readonly [string, ...string[]];
export const pricedParam = z.enum(PRICED, {
  error: (i) => {
    const known = PROVIDERS.find((p) => p.slug === i.input && p.pricing !== "token_prices");
    const why = known && known.pricing !== "token_prices" ? `: ${NO_MODEL_PRICES[known.pricing]}` : "";
    return `Provider "${String(i.input)}" has no model pricing${why}; expected one of ${PRICED_SLUGS.join(", ")}`;
  },
}).meta({ description: "A provider priced per token" });

/** A UTC day as responses write it. */
export const dayOut = z.string().meta({ format: "date", description: "A UTC day, YYYY-MM-DD" });
/** An instant as responses write it (ISO 8601). */
export const instant = z.string().meta({ format: "date-time" });
export const count = (description?: string) => z.number().int().min(0).meta(description ? { description } : {});
/** An amount in a response: an exact decimal string without trailing zeros, e.g. "2.5". */
export const amountOut = z.string().regex(/^-?\d+(\.\d{1,9})?$/).meta({ description: "Exact decimal string" });

/** Queue items by status (QUEUED, CLAIMED, DEFERRED, DONE, FAILED); absent statuses are left out. */
export const queueCounts = z.record(z.string(), z.number().int().min(0)).meta({
  description: "Queue items by status (QUEUED, CLAIMED, DEFERRED, DONE, FAILED); absent statuses are left out",
});

/** `{success, org_slug, provider, ...}` of the delete and reset routes. */
export const done = <S extends z.core.$ZodLooseShape>(extra: S) =>
  z.object({ success: z.literal(true), org_slug: z.string(), provider: z.string(), ...extra });
