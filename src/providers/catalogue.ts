/**
 * The provider catalogue: one entry per provider, and everything else about providers derives from it (the
 * API slugs, the credential row names, the pricing and cost lists, the base-URL settings, the FOCUS names).
 * Adding a provider = one entry here, its processors under `src/processors/<slug>/`, its configs under `configs/`.
 * Pure data: the compiler, the runtime and `src/` all import it.
 */

/** How a provider's usage becomes cost: priced from token prices, or billed costs read from the source. */
export type PricingKind = "token_prices" | "billed_export";

/** What the product knows about one provider. */
export interface ProviderEntry {
  /** The API and config name: `/integrations/{org}/{slug}`, `integration: slug` in configs. */
  readonly slug: string;
  /** The `provider` value of the credential row (`org_integration_credentials.provider`). */
  readonly credentialKey: string;
  /** Human name used in messages and docs. */
  readonly displayName: string;
  /** FOCUS `ProviderName` / `PublisherName`. */
  readonly focusName: string;
  /** Environment setting overriding the API base URL, with its default (null: no HTTP API of its own). */
  readonly baseUrl: { readonly setting: string; readonly default: string } | null;
  /** The processor that validates a credential of this provider (`ps_type` of the validate pipelines). */
  readonly validator: string;
  readonly pricing: PricingKind;
  /** Whether past days can be re-pulled (a backfill); false when the API only answers "now". */
  readonly backfillable: boolean;
}

/** Every provider, in display order. */
export const PROVIDERS = [
  {
    slug: "openai",
    credentialKey: "OPENAI",
    displayName: "OpenAI",
    focusName: "OpenAI",
    baseUrl: { setting: "OPENAI_BASE_URL", default: "https://api.openai.com/v1" },
    validator: "integrations.validate_openai",
    pricing: "token_prices",
    backfillable: true,
  },
  {
    slug: "anthropic",
    credentialKey: "ANTHROPIC",
    displayName: "Anthropic",
    focusName: "Anthropic",
    baseUrl: { setting: "ANTHROPIC_BASE_URL", default: "https://api.anthropic.com" },
    validator: "integrations.validate_anthropic",
    pricing: "token_prices",
    backfillable: true,
  },
  {
    slug: "deepseek",
    credentialKey: "DEEPSEEK",
    displayName: "DeepSeek",
    focusName: "DeepSeek",
    baseUrl: { setting: "DEEPSEEK_BASE_URL", default: "https://api.deepseek.com" },
    validator: "integrations.validate_deepseek",
    pricing: "token_prices",
    backfillable: false,
  },
  {
    slug: "gcp",
    credentialKey: "GCP_SA",
    displayName: "Google Cloud",
    focusName: "Google Cloud",
    baseUrl: null,
    validator: "integrations.validate_gcp",
    pricing: "billed_export",
    backfillable: true,
  },
] as const satisfies readonly ProviderEntry[];

export type Provider = typeof PROVIDERS[number];
/** An API provider slug: "openai" | "anthropic" | "deepseek" | "gcp". */
export type ProviderSlug = Provider["slug"];
/** A credential row provider: "OPENAI" | "ANTHROPIC" | "DEEPSEEK" | "GCP_SA". */
export type CredentialKey = Provider["credentialKey"];

/** Every slug, in catalogue order (a non-empty tuple, usable as `z.enum(PROVIDER_SLUGS)`). */
export const PROVIDER_SLUGS = PROVIDERS.map((p) => p.slug) as unknown as readonly [ProviderSlug, ...ProviderSlug[]];
/** Every credential key, in catalogue order. */
export const CREDENTIAL_KEYS = PROVIDERS.map((p) => p.credentialKey) as unknown as readonly [
  CredentialKey,
  ...CredentialKey[],
];
/** Providers whose cost is computed from token prices (the pricing API's providers). */
export const PRICED_SLUGS = PROVIDERS.filter((p) => p.pricing === "token_prices").map((p) => p.slug);

const BY_SLUG = new Map<string, Provider>(PROVIDERS.map((p) => [p.slug, p]));
const BY_KEY = new Map<string, Provider>(PROVIDERS.map((p) => [p.credentialKey, p]));

/** The entry of a slug, or undefined for an unknown one. */
export function providerBySlug(slug: string): Provider | undefined {
  return BY_SLUG.get(slug);
}

/** The entry of a credential key, or undefined for an unknown one. */
export function providerByCredentialKey(key: string): Provider | undefined {
  return BY_KEY.get(key);
}

/** Credential key by slug, as a type: `KeyOf["gcp"]` is `"GCP_SA"`. */
export type KeyOf = { [P in Provider as P["slug"]]: P["credentialKey"] };
/** Slug by credential key, as a type: `SlugOf["GCP_SA"]` is `"gcp"`. */
export type SlugOf = { [P in Provider as P["credentialKey"]]: P["slug"] };

/** The credential key of a slug: `credentialKeyOf("gcp") === "GCP_SA"`. */
export function credentialKeyOf<S extends ProviderSlug>(slug: S): KeyOf[S] {
  return BY_SLUG.get(slug)!.credentialKey as KeyOf[S];
}

/** The slug of a credential key: `slugOf("GCP_SA") === "gcp"`. */
export function slugOf<K extends CredentialKey>(key: K): SlugOf[K] {
  return BY_KEY.get(key)!.slug as SlugOf[K];
}

/** True when `s` is a provider slug. */
export function isProviderSlug(s: string): s is ProviderSlug {
  return BY_SLUG.has(s);
}
