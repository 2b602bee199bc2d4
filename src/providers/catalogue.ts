/**
 * The provider catalogue: one entry per provider, and everything else about providers derives from it (the
 * API slugs, the credential row names, the pricing and cost lists, the base-URL settings, the FOCUS names).
 * Adding a provider = one entry here, its processors under `src/processors/<slug>/`, its configs under `configs/`.
 * Pure data: the compiler, the runtime and `src/` all import it.
 */

/**
 * How a provider's usage becomes cost: priced from token prices, billed costs read from the source, or spend derived
 * from the drop in an account balance (no usage to price).
 */
export type PricingKind = "token_prices" | "billed_export" | "balance_snapshots";

/** Why a provider of each kind but `token_prices` has no model prices (the pricing routes' refusal says it). */
export const NO_MODEL_PRICES: Readonly<Record<Exclude<PricingKind, "token_prices">, string>> = {
  billed_export: "its costs are read as billed from its billing export",
  balance_snapshots: "it has no usage API; its spend is the drop in its account balance between daily snapshots, " +
    "so there is no usage a model price could apply to",
};

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
  /** The folder of its setup and validate pipelines: `configs/integrations/<integrationFolder>/`. */
  readonly integrationFolder: string;
  /** The scheduled data pipelines that read it (`integration: slug` in configs/<slug>/). */
  readonly pipelines: readonly string[];
  /** Whether past days can be re-pulled (a backfill); false when the API only answers "now". */
  readonly backfillable: boolean;
  /** Why its pipelines cannot be backfilled (the backfill API's answer); set exactly when `backfillable` is false. */
  readonly noBackfillReason?: string;
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
    integrationFolder: "openai",
    pipelines: ["openai/usage_cost", "openai/subscriptions"],
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
    integrationFolder: "anthropic",
    pipelines: ["anthropic/usage_cost"],
    backfillable: true,
  },
  {
    slug: "deepseek",
    credentialKey: "DEEPSEEK",
    displayName: "DeepSeek",
    focusName: "DeepSeek",
    baseUrl: { setting: "DEEPSEEK_BASE_URL", default: "https://api.deepseek.com" },
    validator: "integrations.validate_deepseek",
    pricing: "balance_snapshots",
    integrationFolder: "deepseek",
    pipelines: ["deepseek/usage_cost"],
    backfillable: false,
    noBackfillReason: "DeepSeek reports only the account balance as it is now (it has no usage history API), " +
      "so a past day's snapshot cannot be taken again; its scheduled daily runs record each day as it ends",
  },
  {
    slug: "gcp",
    credentialKey: "GCP_SA",
    displayName: "Google Cloud",
    focusName: "Google Cloud",
    baseUrl: null,
    validator: "integrations.validate_gcp",
    pricing: "billed_export",
    integrationFolder: "gcp_sa",
    pipelines: ["gcp/billing"],
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
/** A provider whose cost is computed from token prices: "openai" | "anthropic". */
export type PricedSlug = Extract<Provider, { pricing: "token_prices" }>["slug"];
/** Providers whose cost is computed from token prices (the pricing API's providers), in catalogue order. */
export const PRICED_SLUGS = PROVIDERS.filter((p) => p.pricing === "token_prices").map((p) =>
  p.slug
) as unknown as readonly [PricedSlug, ...PricedSlug[]];
/** A provider with an HTTP API of its own, whose base URL is a setting: "openai" | "anthropic" | "deepseek". */
export type BaseUrlSlug = Exclude<Provider, { baseUrl: null }>["slug"];
/** The base-URL settings by field name (`openaiBaseUrl`, ...), the shape `Settings` and `ProcessorEnv` extend. */
export type BaseUrls = { readonly [S in BaseUrlSlug as `${S}BaseUrl`]: string };
/** Every provider with a base-URL setting: its field name in `BaseUrls`, its environment variable, its default. */
export const BASE_URL_SETTINGS: readonly { field: keyof BaseUrls; setting: string; default: string }[] = PROVIDERS
  .flatMap((p) =>
    p.baseUrl
      ? [{ field: `${p.slug as BaseUrlSlug}BaseUrl` as const, setting: p.baseUrl.setting, default: p.baseUrl.default }]
      : []
  );

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

/** Credential key by slug: `CREDENTIAL_KEY_OF.gcp === "GCP_SA"`. */
export const CREDENTIAL_KEY_OF = Object.fromEntries(PROVIDERS.map((p) => [p.slug, p.credentialKey])) as KeyOf;
/** Slug by credential key: `SLUG_OF.GCP_SA === "gcp"`. */
export const SLUG_OF = Object.fromEntries(PROVIDERS.map((p) => [p.credentialKey, p.slug])) as SlugOf;

/** The default API root of a provider with a base-URL setting: `baseUrlDefault("openai")`. */
export function baseUrlDefault(slug: BaseUrlSlug): string {
  return BASE_URL_SETTINGS.find((b) => b.field === `${slug}BaseUrl`)!.default;
}

/** The base-URL settings picked out of a larger object (the runtime settings into the processor env). */
export function pickBaseUrls(from: BaseUrls): BaseUrls {
  return Object.fromEntries(BASE_URL_SETTINGS.map((b) => [b.field, from[b.field]])) as unknown as BaseUrls;
}

/** True when `s` is a provider slug. */
export function isProviderSlug(s: string): s is ProviderSlug {
  return BY_SLUG.has(s);
}
