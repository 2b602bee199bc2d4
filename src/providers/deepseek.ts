/**
 * DeepSeek (`Authorization: Bearer`). There is no usage API: `GET /user/balance`
 * snapshots are what daily spend is derived from, and `GET /models` validates a key
 * (https://api-docs.deepseek.com/api/get-user-balance).
 */
import { z } from "zod";
import { baseUrlDefault } from "./catalogue.ts";
import { ProviderHttp, type ProviderHttpOptions } from "./http.ts";
import { endpointUrl, parseBaseUrl } from "./_paging.ts";
import { isDecimalString } from "./decimal.ts";

/** Default API root (`DEEPSEEK_BASE_URL`). */
export const DEEPSEEK_BASE_URL: string = baseUrlDefault("deepseek");
const PROVIDER = "DeepSeek";

const decimal = z.string().refine(isDecimalString, "expected a decimal string");

/** `GET /models`. */
export const deepSeekModelsSchema = z.object({
  object: z.literal("list").optional(),
  data: z.array(z.object({ id: z.string(), object: z.string().optional(), owned_by: z.string().optional() })),
});

/** One currency's balance; all amounts are decimal strings. */
export const deepSeekBalanceInfoSchema = z.object({
  currency: z.string().min(1),
  total_balance: decimal,
  granted_balance: decimal,
  topped_up_balance: decimal,
});

/** `GET /user/balance`. */
export const deepSeekBalanceSchema = z.object({
  is_available: z.boolean(),
  balance_infos: z.array(deepSeekBalanceInfoSchema),
});

export type DeepSeekModels = z.output<typeof deepSeekModelsSchema>;
export type DeepSeekBalanceInfo = z.output<typeof deepSeekBalanceInfoSchema>;
export type DeepSeekBalance = z.output<typeof deepSeekBalanceSchema>;

/** Options of a `DeepSeekClient`. */
export interface DeepSeekClientOptions extends ProviderHttpOptions {
  apiKey: string;
  /** API root, default `https://api.deepseek.com`. */
  baseUrl?: string;
  /** Shared transport; built from the other options when absent. */
  http?: ProviderHttp;
}

/** Reads a DeepSeek account's models and balance. */
export class DeepSeekClient {
  readonly #apiKey: string;
  readonly #base: URL;
  readonly #http: ProviderHttp;

  constructor(options: DeepSeekClientOptions) {
    if (!options.apiKey) throw new TypeError("DeepSeek apiKey is required");
    this.#apiKey = options.apiKey;
    this.#base = parseBaseUrl(PROVIDER, options.baseUrl ?? DEEPSEEK_BASE_URL);
    this.#http = options.http ?? new ProviderHttp(options);
  }

  /**
   * Checks the key by listing models; returns them.
   * @throws {ProviderError} `unauthorized` for an invalid key
   */
  validateKey(): Promise<DeepSeekModels> {
    return this.#get("/models", deepSeekModelsSchema);
  }

  /**
   * The account balance now, one entry per currency.
   * @throws {ProviderError} on failure or a non-decimal amount
   */
  balance(): Promise<DeepSeekBalance> {
    return this.#get("/user/balance", deepSeekBalanceSchema);
  }

  #get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    return this.#http.request({
      provider: PROVIDER,
      endpoint: `GET ${path}`,
      url: endpointUrl(this.#base, path),
      origin: this.#base.origin,
      headers: { authorization: `Bearer ${this.#apiKey}` },
      schema,
      secrets: [this.#apiKey],
    });
  }
}
