/**
 * A local stand-in for the DeepSeek API parts Convergence reads, in the published shapes:
 *
 * - `GET /models` -> `{object:"list", data:[{id, object:"model", owned_by:"deepseek"}]}`
 * - `GET /user/balance` -> `{is_available, balance_infos:[{currency, total_balance,
 *   granted_balance, topped_up_balance}]}` (amounts as decimal strings)
 * - errors `{error:{message, type, param, code}}`; a 401 echoes the key's last 4 chars
 *   as DeepSeek does (`****abcd`).
 *
 * Balances are set per key and can be changed (`setBalance`), or drained by a
 * deterministic daily spend since a day (`drainFrom`), so snapshots taken on different
 * days show spend. Test fixture, not product code.
 */
import {
  bearer,
  type FaultOptions,
  isoDay,
  scaledToDecimal,
  seededInt,
  serveStandIn,
  type StandIn,
} from "../providers/standin_kit.ts";

/** The key accepted when no `keys` are given. */
export const DEEPSEEK_STANDIN_KEY = "sk-standin0deepseek7c4e9a1b2d3f5e6a8b9c";

/** One currency's balance, as DeepSeek sends it. */
export interface DeepSeekBalanceInfo {
  currency: "CNY" | "USD";
  total_balance: string;
  granted_balance: string;
  topped_up_balance: string;
}

/** An account behind a key. */
export interface DeepSeekAccount {
  /** Default one CNY balance of 110.00 (10.00 granted + 100.00 topped up). */
  balance_infos?: DeepSeekBalanceInfo[];
  /** Default true. */
  is_available?: boolean;
  /** Mixed into the daily spend when draining; default "". */
  seed?: string;
}

/** Options of `startDeepSeekStandIn`; fault modes as in `FaultOptions`. */
export interface DeepSeekStandInOptions extends FaultOptions {
  /** Accepted keys; default `{[DEEPSEEK_STANDIN_KEY]: {}}`. */
  keys?: Record<string, DeepSeekAccount>;
  /** When set (`YYYY-MM-DD`), each full UTC day since then spends 0.50-6.00 (granted first). */
  drainFrom?: string;
  /** Clock for `drainFrom`; default `Date.now`. */
  now?: () => number;
  /** Put the whole key in 401 messages, to test redaction. */
  echoKey?: boolean;
}

/** A running DeepSeek stand-in; pass `baseUrl` as `DEEPSEEK_BASE_URL`. */
export interface DeepSeekStandIn extends StandIn {
  readonly baseUrl: string;
  /** Replaces a key's balances (e.g. to simulate spend or a top-up between snapshots). */
  setBalance(key: string, infos: DeepSeekBalanceInfo[]): void;
}

const DEFAULT_BALANCE: DeepSeekBalanceInfo[] = [
  { currency: "CNY", total_balance: "110.00", granted_balance: "10.00", topped_up_balance: "100.00" },
];

/** The spend of one account on one day, in cents (deterministic). */
export function deepSeekDailySpendCents(seed: string, day: string): number {
  return seededInt(50, 600, seed, day, "spend");
}

/** Starts the stand-in on a random local port. */
export function startDeepSeekStandIn(options: DeepSeekStandInOptions = {}): DeepSeekStandIn {
  const { keys = { [DEEPSEEK_STANDIN_KEY]: {} }, drainFrom, now = Date.now, echoKey, ...faults } = options;
  const accounts = new Map(Object.entries(keys).map(([k, v]) => [k, { ...v }]));
  const standIn = serveStandIn({ ...faults }, (status, kind, message) =>
    deepSeekError(
      status,
      kind === "rate_limit" ? "rate_limit_error" : "api_error",
      status === 503 ? "Server overloaded, please try again later" : message,
    ), (req, rec) => {
    const key = bearer(req);
    const account = key === undefined ? undefined : accounts.get(key);
    if (key === undefined || account === undefined) {
      const shown = key === undefined ? "" : echoKey ? key : `****${key.slice(-4)}`;
      return deepSeekError(401, "authentication_error", `Authentication Fails, Your api key: ${shown} is invalid`);
    }
    const route = `${req.method} ${rec.path}`;
    if (route === "GET /models") {
      return Response.json({
        object: "list",
        data: ["deepseek-chat", "deepseek-reasoner"].map((id) => ({ id, object: "model", owned_by: "deepseek" })),
      });
    }
    if (route === "GET /user/balance") {
      const infos = account.balance_infos ?? DEFAULT_BALANCE;
      const drained = drainFrom === undefined
        ? infos
        : infos.map((i) => drain(i, account.seed ?? "", drainFrom, now()));
      return Response.json({ is_available: account.is_available ?? true, balance_infos: drained });
    }
    return deepSeekError(404, "invalid_request_error", `Not Found: ${rec.path}`);
  });
  return Object.assign(standIn, {
    baseUrl: standIn.url,
    setBalance(key: string, infos: DeepSeekBalanceInfo[]) {
      const account = accounts.get(key);
      if (account === undefined) throw new Error(`DeepSeek stand-in has no key ending "${key.slice(-4)}"`);
      account.balance_infos = infos;
    },
  });
}

function drain(info: DeepSeekBalanceInfo, seed: string, from: string, nowMs: number): DeepSeekBalanceInfo {
  let spent = 0n;
  for (let at = Date.parse(`${from}T00:00:00Z`); at + 86_400_000 <= nowMs; at += 86_400_000) {
    spent += BigInt(deepSeekDailySpendCents(seed, isoDay(at)));
  }
  const granted = cents(info.granted_balance);
  const topped = cents(info.topped_up_balance);
  const fromGranted = spent < granted ? spent : granted;
  const fromTopped = spent - fromGranted < topped ? spent - fromGranted : topped;
  const g = granted - fromGranted;
  const t = topped - fromTopped;
  return {
    currency: info.currency,
    total_balance: money(g + t),
    granted_balance: money(g),
    topped_up_balance: money(t),
  };
}

function cents(value: string): bigint {
  const [whole = "0", fraction = ""] = value.split(".");
  return BigInt(whole) * 100n + BigInt((fraction + "00").slice(0, 2));
}

function money(value: bigint): string {
  const text = scaledToDecimal(value, 2);
  const [whole, fraction = ""] = text.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
}

/** A DeepSeek error answer. */
export function deepSeekError(status: number, type: string, message: string): Response {
  return Response.json({ error: { message, type, param: null, code: "invalid_request_error" } }, { status });
}
