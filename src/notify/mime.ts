/**
 * Builds a plain-text RFC 5322 message. Header values are single lines: CR, LF and other control
 * characters are replaced by spaces, so a subject or address can never inject a header; non-ASCII
 * values become RFC 2047 encoded words. Addresses must be plain ASCII `local@domain`.
 */

export interface MailContent {
  /** `alerts@example.com` or `Convergence <alerts@example.com>`. */
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly date?: Date;
  readonly messageId?: string;
}

const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Replaces CR, LF and other control characters with a space and trims. */
export function headerSafe(value: string): string {
  // deno-lint-ignore no-control-regex
  return value.replace(/[\x00-\x08\x0a-\x1f\x7f]+/g, " ").replace(/\s+/g, " ").trim();
}

/**
 * Strips CR/LF and checks the address is a plain ASCII `local@domain` (max 254 chars).
 * @throws {TypeError} naming the (sanitised) address
 */
export function cleanAddress(address: string): string {
  const clean = headerSafe(address);
  if (clean.length > 254 || !ADDRESS.test(clean)) {
    throw new TypeError(`"${clean.slice(0, 80)}" is not a valid email address`);
  }
  return clean;
}

/** Splits `Name <addr>` or `addr` into its parts, the address checked with {@link cleanAddress}. */
export function parseMailbox(mailbox: string): { name?: string; address: string } {
  const m = /^(.*)<([^<>]*)>\s*$/.exec(headerSafe(mailbox));
  if (!m) return { address: cleanAddress(mailbox) };
  const name = m[1]!.trim().replace(/^"(.*)"$/, "$1");
  return { ...(name ? { name } : {}), address: cleanAddress(m[2]!) };
}

/** RFC 2047 "B" encoded words for a non-ASCII header value, each at most 75 chars, never splitting a character. */
export function encodeWords(value: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk = "";
  const enc = new TextEncoder();
  const flush = () => {
    if (chunk) words.push(`=?UTF-8?B?${btoa(String.fromCharCode(...enc.encode(chunk)))}?=`);
    chunk = "";
  };
  for (const ch of value) {
    if (enc.encode(chunk + ch).length > 45) flush();
    chunk += ch;
  }
  flush();
  return words.join("\r\n ");
}

function mailboxHeader(mailbox: { name?: string; address: string }): string {
  if (!mailbox.name) return mailbox.address;
  const name = /^[\x20-\x7e]*$/.test(mailbox.name)
    ? `"${mailbox.name.replace(/["\\]/g, "\\$&")}"`
    : encodeWords(mailbox.name);
  return `${name} <${mailbox.address}>`;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An RFC 5322 date in UTC: `Tue, 01 Jul 2025 10:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function bodyPart(text: string): { encoding: string; body: string } {
  const lines = text.replace(/\r\n|\r|\n/g, "\n").split("\n");
  // deno-lint-ignore no-control-regex
  if (lines.every((l) => l.length <= 998 && /^[\x09\x20-\x7e]*$/.test(l))) {
    return { encoding: "7bit", body: lines.join("\r\n") };
  }
  const bytes = new TextEncoder().encode(text);
  let b64 = "";
  for (let i = 0; i < bytes.length; i += 3 * 1024) b64 += btoa(String.fromCharCode(...bytes.subarray(i, i + 3 * 1024)));
  return { encoding: "base64", body: b64.match(/.{1,76}/g)?.join("\r\n") ?? "" };
}

/**
 * The full message (headers, blank line, body) with CRLF line ends, not yet dot-stuffed.
 * @throws {TypeError} for an invalid address
 */
export function buildMessage(mail: MailContent): string {
  const from = parseMailbox(mail.from);
  const to = mail.to.map(cleanAddress);
  if (to.length === 0) throw new TypeError("A message needs at least one recipient");
  const domain = from.address.slice(from.address.indexOf("@") + 1);
  const messageId = headerSafe(mail.messageId ?? `<${crypto.randomUUID()}@${domain}>`);
  const { encoding, body } = bodyPart(mail.text);
  const headers = [
    `From: ${mailboxHeader(from)}`,
    `To: ${to.join(", ")}`,
    `Subject: ${encodeWords(headerSafe(mail.subject).slice(0, 250))}`,
    `Date: ${rfc5322Date(mail.date ?? new Date())}`,
    `Message-ID: ${messageId}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${encoding}`,
    "Auto-Submitted: auto-generated",
  ];
  return `${headers.join("\r\n")}\r\n\r\n${body}\r\n`;
}
