/**
 * Notifier settings read from the environment when a notification is sent (not at start-up): an
 * unset SMTP host or webhook variable means "not configured" and the notification is skipped.
 * Like runtime/config.ts, every problem is collected and reported at once.
 */
import { AppError } from "../errors/mod.ts";
import type { SmtpConfig } from "./smtp.ts";
import { parseMailbox } from "./mime.ts";

/** Reads one environment variable; `Deno.env.get` by default, a map in tests. */
export type GetEnv = (name: string) => string | undefined;

export const denoEnv: GetEnv = (name) => Deno.env.get(name);

export interface SmtpSettings {
  readonly smtp: SmtpConfig;
  /** The From mailbox as configured (`alerts@x` or `Name <alerts@x>`). */
  readonly from: string;
  /** The bare From address, for MAIL FROM. */
  readonly fromAddress: string;
}

/**
 * Settings a notifier could not use: an `AppError` `NOTIFIER_MISCONFIGURED` whose message lists every problem
 * (also in `details.problems`), never a secret value.
 */
function notifierConfigError(what: string, problems: readonly string[]): AppError {
  return new AppError("NOTIFIER_MISCONFIGURED", `${what} is misconfigured: ${problems.join("; ")}`, {
    details: { problems: [...problems] },
  });
}

function bool(env: GetEnv, name: string, fallback: boolean, problems: string[]): boolean {
  const v = env(name)?.trim();
  if (!v) return fallback;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  problems.push(`${name} must be true or false, not "${v.slice(0, 40)}"`);
  return fallback;
}

/**
 * SMTP settings: the host from `hostEnv` (SMTP_HOST), SMTP_PORT (587), SMTP_USER and SMTP_PASSWORD
 * (both or neither), SMTP_FROM (required), SMTP_REQUIRE_TLS (true in production, where false is refused),
 * SMTP_CA_CERT (PEM text or a PEM file path: extra trusted roots, e.g. a test server's self-signed
 * certificate) and SMTP_TLS_INSECURE (skip the certificate's host name check; refused in production;
 * the chain is still verified, Deno has no switch to skip that).
 * @returns undefined when the host variable is unset (the notification is skipped)
 * @throws {AppError} `NOTIFIER_MISCONFIGURED` listing every problem
 */
export function readSmtpSettings(
  env: GetEnv,
  opts: { production: boolean; hostEnv?: string },
): SmtpSettings | undefined {
  const hostEnv = opts.hostEnv ?? "SMTP_HOST";
  const host = env(hostEnv)?.trim();
  if (!host) return undefined;
  const problems: string[] = [];
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) problems.push(`${hostEnv} must be a host name or IP address`);
  const portText = env("SMTP_PORT")?.trim() || "587";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`SMTP_PORT must be an integer from 1 to 65535, not "${portText.slice(0, 20)}"`);
  }
  const user = env("SMTP_USER") || undefined;
  const password = env("SMTP_PASSWORD") || undefined;
  if (Boolean(user) !== Boolean(password)) problems.push("SMTP_USER and SMTP_PASSWORD must be set together");
  const from = env("SMTP_FROM")?.trim();
  let fromAddress = "";
  if (!from) problems.push(`SMTP_FROM is required when ${hostEnv} is set`);
  else {
    try {
      fromAddress = parseMailbox(from).address;
    } catch (err) {
      problems.push(`SMTP_FROM: ${(err as Error).message}`);
    }
  }
  const requireTls = bool(env, "SMTP_REQUIRE_TLS", opts.production, problems);
  if (opts.production && !requireTls) problems.push("SMTP_REQUIRE_TLS cannot be false in production");
  const insecure = bool(env, "SMTP_TLS_INSECURE", false, problems);
  if (opts.production && insecure) problems.push("SMTP_TLS_INSECURE is for testing only and is refused in production");
  const caCerts: string[] = [];
  const ca = env("SMTP_CA_CERT")?.trim();
  if (ca) {
    try {
      caCerts.push(ca.startsWith("-----BEGIN") ? ca : Deno.readTextFileSync(ca));
    } catch (err) {
      problems.push(`SMTP_CA_CERT is neither PEM text nor a readable file (${(err as Error).name})`);
    }
  }
  if (problems.length) throw notifierConfigError("Email notification", problems);
  return {
    smtp: {
      host: host.replace(/^\[(.*)\]$/, "$1"),
      port,
      ...(user && password ? { user, password } : {}),
      requireTls,
      ...(caCerts.length ? { caCerts } : {}),
      ...(insecure ? { skipHostnameCheck: true } : {}),
    },
    from: from!,
    fromAddress,
  };
}
