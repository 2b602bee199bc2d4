/**
 * Outbound notifications: an SSRF guard for user-influenced URLs, a JSON webhook sender and a small
 * SMTP client. The `notify_systems.*` processors (src/processors/notify/) are built on these.
 *
 * @example
 * ```ts
 * const url = await guardUrl(Deno.env.get("SLACK_WEBHOOK_URL")!, { production: true, allowedHosts: ["hooks.slack.com"] });
 * await postJson(url, { text: "hello" }, { what: "Slack webhook" });
 * ```
 * @module
 */

/**
 * Checks a URL before anything is sent to it: https only in production, the host allow-listed, never a
 * private/loopback/link-local/unique-local address or a numeric alias, no user info, and (in production)
 * every DNS answer public. Options: `production`, `allowedHosts`, `devAllowedHosts` (outside production),
 * `checkDns` (default `production`), `resolveDns`, `what` (names the URL in messages).
 * @throws {AppError} `URL_REFUSED` with the reason; the message never contains the URL's path or user info
 */
export { checkUrl, guardUrl, parseHostList, type ResolveDns, type UrlGuardOptions } from "./url_guard.ts";
/** IP literal parsing and the reason an address must not be reached (undefined when public). */
export { ipRefusalReason, isIpLiteral, parseIPv4, parseIPv6 } from "./ip.ts";
/**
 * POSTs JSON with `redirect: "manual"`, a 5 s timeout per attempt and 3 attempts on 429/5xx.
 * @throws {AppError} `WEBHOOK_FAILED` naming the host and status, never the URL's path
 */
export { postJson, type PostJsonOptions, type PostJsonResult, scrubUrls } from "./webhook.ts";
/**
 * Sends one message over SMTP (STARTTLS, AUTH PLAIN/LOGIN, dot-stuffed DATA).
 * @throws {AppError} `SMTP_FAILED` naming the stage and the server's reply, never the password
 */
export { dotStuff, sendMail, type SendResult, type SmtpConfig, type SmtpFailure, smtpFailure } from "./smtp.ts";
/** Builds a plain-text message whose headers cannot be injected into (CR/LF stripped). */
export { buildMessage, cleanAddress, headerSafe, type MailContent, parseMailbox } from "./mime.ts";
/**
 * Reads SMTP settings from the environment (undefined when the host variable is unset).
 * @throws {AppError} `NOTIFIER_MISCONFIGURED` listing every problem
 */
export { denoEnv, type GetEnv, readSmtpSettings, type SmtpSettings } from "./settings.ts";
