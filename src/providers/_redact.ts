/**
 * Redaction of credentials from text that may reach a message or a log: the exact
 * secret, and also the partial echoes providers put in their error bodies
 * (`sk-admin-****abcd`, `Your api key: ****abcd is invalid`).
 */

const REDACTED = "[REDACTED]";
/** Key-shaped tokens: OpenAI/Anthropic/DeepSeek keys, Google tokens, PEM bodies. */
const KEY_SHAPED =
  /\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}|\bya29\.[A-Za-z0-9_.-]+|-----BEGIN [^-]+-----[\s\S]*?(?:-----END [^-]+-----|$)/g;
const TOKEN_SPLIT = /([\s"'`,;()<>[\]{}=]+)/;
const MIN_FRAGMENT = 4;

/** Returns `text` with every occurrence (whole or partial) of the secrets replaced. */
export function redact(text: string, secrets: readonly string[] = []): string {
  const usable = secrets.filter((s) => s.length >= MIN_FRAGMENT);
  let out = text;
  for (const secret of [...usable].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, REDACTED);
  out = out.replace(KEY_SHAPED, REDACTED);
  if (usable.length === 0) return out;
  return out.split(TOKEN_SPLIT).map((token, i) => (i % 2 === 1 ? token : redactToken(token, usable))).join("");
}

/** A token is replaced when a masked or truncated piece of it (4+ chars) occurs in a secret. */
function redactToken(token: string, secrets: readonly string[]): string {
  if (token.length < MIN_FRAGMENT || token === REDACTED) return token;
  const fragments = token.split(/[*.…]+|\[REDACTED\]/).filter((f) => f.length >= MIN_FRAGMENT);
  const masked = token.includes("*") || token.includes("…");
  for (const fragment of fragments) {
    // A plain word must be long to count as an echo; a masked one may be just the last 4 chars.
    if ((masked || fragment.length >= 8) && secrets.some((s) => s.includes(fragment))) return REDACTED;
  }
  return token;
}
