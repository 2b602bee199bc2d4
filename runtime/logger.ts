/**
 * Structured JSON logs, one line per event. Secrets are redacted here, at the logger, not at
 * call sites: values under secret-looking keys, registered secret strings, org API keys and
 * vault envelopes are replaced before a line is written.
 */

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

const SECRET_KEY =
  /(^|_)(api_?key|key|secret|token|password|passwd|credential|credentials|authorization|ciphertext|encrypted[a-z_]*|private_key|assertion)$/i;
/** Anything shaped like an org key (`{slug}_api_{random}`), `_` also percent-encoded; the random part 12+ chars. */
const ORG_KEY = /[A-Za-z0-9%-]*(?:_|%5F)api(?:_|%5F)[A-Za-z0-9_%-]{12,}/gi;
/** Anything shaped like a generated root key. */
const ROOT_KEY = /\bca(?:_|%5F)root(?:_|%5F)[A-Za-z0-9_%-]{8,}/gi;
const ENVELOPE = /\bv1\.[a-z_]+\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const PEM = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g;
const REDACTED = "[REDACTED]";

export type Sink = (line: string) => void;

const encoder = new TextEncoder();
let pending: string[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const text = pending.join("\n") + "\n";
  pending = [];
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/**
 * Lines written in one turn of the event loop go out in one write (a log line per request otherwise costs
 * a syscall each). Flushed before the process exits.
 */
export function stdoutSink(line: string): void {
  pending.push(line);
  if (!scheduled) {
    scheduled = true;
    setTimeout(flush, 0);
  }
}

globalThis.addEventListener("unload", () => {
  if (pending.length) flush();
});

export class Logger {
  readonly #sink: Sink;
  readonly #fields: Fields;
  readonly #secrets: Set<string>;
  readonly #level: Level;

  constructor(opts: { sink?: Sink; fields?: Fields; secrets?: Set<string>; level?: Level } = {}) {
    this.#sink = opts.sink ?? stdoutSink;
    this.#fields = opts.fields ?? {};
    this.#secrets = opts.secrets ?? new Set();
    this.#level = opts.level ?? "info";
  }

  /** A logger whose lines carry `fields` too (org_slug, run_id, step_id, ...). */
  child(fields: Fields): Logger {
    return new Logger({
      sink: this.#sink,
      fields: { ...this.#fields, ...fields },
      secrets: this.#secrets,
      level: this.#level,
    });
  }

  /** Registers a string that must never be written (e.g. the root key). */
  addSecret(secret: string): void {
    if (secret.length >= 6) this.#secrets.add(secret);
  }

  debug(msg: string, fields?: Fields): void {
    this.#write("debug", msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.#write("info", msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.#write("warn", msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.#write("error", msg, fields);
  }

  #write(level: Level, msg: string, fields?: Fields): void {
    if (LEVELS[level] < LEVELS[this.#level]) return;
    // One redacted copy, built in place: later fields win, as with `{ ...this.#fields, ...fields }`.
    const line: Fields = { time: new Date().toISOString(), level, msg: redactString(msg, this.#secrets) };
    copyRedacted(line, this.#fields, this.#secrets, 1);
    if (fields) copyRedacted(line, fields, this.#secrets, 1);
    this.#sink(JSON.stringify(line));
  }
}

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Returns a copy of `value` with secrets replaced by "[REDACTED]". */
export function redact(value: unknown, secrets: ReadonlySet<string> = new Set(), depth = 0, key = ""): unknown {
  if (depth > 8) return "[…]";
  if (key && isSecretKey(key) && value !== null && value !== undefined && typeof value !== "boolean") {
    return REDACTED;
  }
  if (typeof value === "string") return redactString(value, secrets);
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactString(value.message, secrets),
      ...(value.cause ? { cause: redact(value.cause, secrets, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1));
  if (value !== null && typeof value === "object") return copyRedacted({}, value as Fields, secrets, depth + 1);
  return value;
}

/** Copies the own enumerable fields of `from` into `to`, redacted (see {@link redact}); returns `to`. */
function copyRedacted(to: Fields, from: Fields, secrets: ReadonlySet<string>, depth: number): Fields {
  for (const k of Object.keys(from)) to[k] = redact(from[k], secrets, depth, k);
  return to;
}

/** Whether a field name looks like it holds a secret; answers are remembered (field names repeat). */
function isSecretKey(key: string): boolean {
  let known = secretKeys.get(key);
  if (known === undefined) {
    known = SECRET_KEY.test(key);
    if (secretKeys.size < 4096) secretKeys.set(key, known);
  }
  return known;
}
const secretKeys = new Map<string, boolean>();

/**
 * `text` with key-shaped values (org API keys, root keys, percent-encoded too) replaced by "[REDACTED]": for what
 * a client sent, which is never echoed in an error nor logged.
 */
export function redactKeys(text: string): string {
  let out = text;
  if (/(?:_|%5F)api(?:_|%5F)/i.test(out)) out = out.replace(ORG_KEY, REDACTED);
  if (/ca(?:_|%5F)root/i.test(out)) out = out.replace(ROOT_KEY, REDACTED);
  return out;
}

export function redactString(text: string, secrets: ReadonlySet<string> = new Set()): string {
  if (text.length < 6) return text; // shorter than any secret we register or recognise
  let out = text;
  // Each pattern only runs when its marker is present: most log strings (paths, ids, messages) have none.
  out = redactKeys(out);
  if (out.includes("v1.")) out = out.replace(ENVELOPE, REDACTED);
  if (out.includes("Bearer") || out.includes("Basic")) out = out.replace(BEARER, `$1 ${REDACTED}`);
  if (out.includes("-----BEGIN")) out = out.replace(PEM, REDACTED);
  for (const s of secrets) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
  return out;
}
