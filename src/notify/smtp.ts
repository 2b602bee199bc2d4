/**
 * A small SMTP client over Deno.connect + Deno.startTls: EHLO, STARTTLS when offered (required when
 * `requireTls`), AUTH PLAIN or LOGIN when credentials are set (never over plain text), MAIL FROM,
 * RCPT TO, DATA with dot-stuffing, QUIT. Port 465 uses implicit TLS. Every step has a timeout and
 * every error says which step failed; no message ever contains the password.
 */
import { AppError } from "../errors/mod.ts";

export interface SmtpConfig {
  readonly host: string;
  /** 587 (submission, STARTTLS), 25, or 465 (implicit TLS). */
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  /** Refuse to send when the connection cannot be encrypted. */
  readonly requireTls: boolean;
  /** Extra trusted roots (PEM), e.g. a private CA or a test server's self-signed certificate. */
  readonly caCerts?: readonly string[];
  /** Skips the certificate's name check (the chain is still verified). Never in production. */
  readonly skipHostnameCheck?: boolean;
  /** The EHLO name; default "localhost". */
  readonly clientName?: string;
  /** Per step (connect, each reply, each write); default 15000 ms. */
  readonly timeoutMs?: number;
  /** For the whole conversation, so a server that answers slowly cannot hold a run; default 60000 ms. */
  readonly deadlineMs?: number;
}

export interface SendResult {
  readonly accepted: readonly string[];
  readonly rejected: readonly { readonly address: string; readonly reply: string }[];
  /** The server's answer to the message, e.g. "250 OK: queued as 1234". */
  readonly response: string;
  readonly tls: boolean;
}

/** What an SMTP failure carries in `details`: the step (connect, starttls, auth, mail, rcpt, data...) and reply. */
export interface SmtpFailure {
  readonly stage: string;
  /** The server's reply code, when it answered. */
  readonly reply_code?: number;
  readonly reply?: string;
}

/** An SMTP failure: an `AppError` `SMTP_FAILED` with {@link SmtpFailure} as its details. */
export function smtpError(message: string, failure: SmtpFailure): AppError {
  return new AppError("SMTP_FAILED", message, { details: { ...failure } });
}

/** The {@link SmtpFailure} of an SMTP failure, undefined for any other error. */
export function smtpFailure(err: unknown): SmtpFailure | undefined {
  return err instanceof AppError && err.code === "SMTP_FAILED" ? err.details as unknown as SmtpFailure : undefined;
}

interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
}

const enc = new TextEncoder();
const MAX_REPLY_BYTES = 64 * 1024;

const b64 = (s: string) => btoa(String.fromCharCode(...enc.encode(s)));

/** Dot-stuffs a CRLF message for DATA and appends the terminating `.` line. */
export function dotStuff(message: string): string {
  const lines = message.replace(/\r\n|\r|\n/g, "\n").replace(/\n$/, "").split("\n");
  return lines.map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n") + "\r\n.\r\n";
}

class Session {
  #conn: Deno.Conn;
  #buf = "";
  tls = false;
  readonly #where: string;
  readonly #secrets: string[];
  readonly #decoder = new TextDecoder();
  readonly #deadline: number;

  constructor(conn: Deno.Conn, readonly config: SmtpConfig) {
    this.#conn = conn;
    this.#where = `${config.host}:${config.port}`;
    const pw = config.password ?? "";
    this.#secrets = pw ? [pw, b64(pw), b64(`\0${config.user ?? ""}\0${pw}`)] : [];
    this.#deadline = Date.now() + (config.deadlineMs ?? 60_000);
  }

  /** An SMTP failure at `stage` whose message has every form of the password removed. */
  fail(stage: string, message: string, code?: number, reply?: string): AppError {
    const scrub = (t: string) => this.#secrets.reduce((acc, secret) => acc.replaceAll(secret, "[REDACTED]"), t);
    return smtpError(scrub(`SMTP ${stage} failed at ${this.#where}: ${message}`), {
      stage,
      ...(code === undefined ? {} : { reply_code: code }),
      ...(reply ? { reply: scrub(reply) } : {}),
    });
  }

  async #withTimeout<T>(stage: string, op: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stepMs = this.config.timeoutMs ?? 15_000;
    const ms = Math.max(0, Math.min(stepMs, this.#deadline - Date.now()));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = ms < stepMs
          ? `the conversation took longer than ${this.config.deadlineMs ?? 60_000} ms`
          : `no answer within ${ms} ms`;
        reject(this.fail(stage, why));
        this.close();
      }, ms);
    });
    try {
      return await Promise.race([op, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async reply(stage: string): Promise<Reply> {
    const lines: string[] = [];
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const eol = this.#buf.indexOf("\n");
      if (eol < 0) {
        if (this.#buf.length > MAX_REPLY_BYTES) throw this.fail(stage, "the server's reply is too long");
        let n: number | null;
        try {
          n = await this.#withTimeout(stage, this.#conn.read(chunk));
        } catch (err) {
          throw smtpFailure(err) ? err : this.fail(stage, `connection error: ${(err as Error).message}`);
        }
        if (n === null) throw this.fail(stage, "the server closed the connection");
        this.#buf += this.#decoder.decode(chunk.subarray(0, n), { stream: true });
        continue;
      }
      const line = this.#buf.slice(0, eol).replace(/\r$/, "");
      this.#buf = this.#buf.slice(eol + 1);
      const m = /^([2-5][0-9]{2})([ -]?)(.*)$/.exec(line);
      if (!m) throw this.fail(stage, `unexpected reply "${line.slice(0, 120)}"`);
      lines.push(m[3]!);
      if (m[2] !== "-") return { code: Number(m[1]), lines };
      if (lines.length > 200) throw this.fail(stage, "the server's reply has too many lines");
    }
  }

  async write(stage: string, text: string): Promise<void> {
    const bytes = enc.encode(text);
    try {
      for (let off = 0; off < bytes.length;) {
        off += await this.#withTimeout(stage, this.#conn.write(bytes.subarray(off)));
      }
    } catch (err) {
      throw smtpFailure(err) ? err : this.fail(stage, `connection error: ${(err as Error).message}`);
    }
  }

  /** Sends `line` and checks the reply code (the line itself never goes into a message). */
  async command(stage: string, line: string, expect: readonly number[]): Promise<Reply> {
    await this.write(stage, `${line}\r\n`);
    const r = await this.reply(stage);
    if (!expect.includes(r.code)) throw this.fail(stage, `the server answered ${describe(r)}`, r.code, describe(r));
    return r;
  }

  /** Upgrades the connection: after STARTTLS's 220, or right away for implicit TLS (port 465). */
  async handshake(): Promise<void> {
    // Anything already buffered was sent in plain text before the handshake: a response-injection attempt.
    if (this.#buf.length) throw this.fail("starttls", "the server sent data before the TLS handshake");
    const tcp = this.#conn as Deno.TcpConn;
    try {
      const tls = await this.#withTimeout("starttls", Deno.startTls(tcp, this.#tlsOptions()));
      this.#conn = tls;
      await this.#withTimeout("starttls", tls.handshake()); // startTls is lazy: verify the certificate now
    } catch (err) {
      if (smtpFailure(err)) throw err;
      throw this.fail("starttls", `TLS handshake failed: ${(err as Error).message}`);
    }
    this.tls = true;
  }

  #tlsOptions(): Deno.StartTlsOptions {
    return {
      hostname: this.config.host,
      ...(this.config.caCerts?.length ? { caCerts: [...this.config.caCerts] } : {}),
      ...(this.config.skipHostnameCheck ? { unsafelyDisableHostnameVerification: true } : {}),
    };
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** `250 OK queued`: a reply on one line, control characters removed, capped. */
function describe(r: Reply): string {
  // deno-lint-ignore no-control-regex
  return `${r.code} ${r.lines.join(" ").replace(/[\x00-\x1f\x7f]+/g, " ").slice(0, 300)}`.trim();
}

/** EHLO keywords (upper-case) to their parameters. */
function extensions(r: Reply): Map<string, string> {
  return new Map(
    r.lines.slice(1).map((l) => {
      const [k = "", ...rest] = l.trim().split(/[\s=]+/);
      return [k.toUpperCase(), rest.join(" ").toUpperCase()];
    }),
  );
}

async function connect(config: SmtpConfig): Promise<Session> {
  let conn: Deno.TcpConn;
  try {
    const signal = AbortSignal.timeout(config.timeoutMs ?? 15_000);
    conn = await Deno.connect({ hostname: config.host, port: config.port, signal });
  } catch (err) {
    const reason = err instanceof DOMException ? "timed out" : (err as Error).message;
    throw smtpError(`SMTP connect failed at ${config.host}:${config.port}: ${reason}`, { stage: "connect" });
  }
  const s = new Session(conn, config);
  if (config.port === 465) await s.handshake().catch((err) => (s.close(), Promise.reject(err)));
  return s;
}

async function hello(s: Session): Promise<Map<string, string>> {
  const name = s.config.clientName ?? "localhost";
  await s.write("ehlo", `EHLO ${name}\r\n`);
  const r = await s.reply("ehlo");
  if (r.code === 250) return extensions(r);
  await s.command("helo", `HELO ${name}`, [250]);
  return new Map();
}

async function authenticate(s: Session, ext: Map<string, string>): Promise<void> {
  const { user = "", password = "" } = s.config;
  if (!s.tls) throw s.fail("auth", "refusing to send credentials over an unencrypted connection");
  const mechanisms = (ext.get("AUTH") ?? "").split(" ");
  if (mechanisms.includes("PLAIN")) {
    await s.command("auth", `AUTH PLAIN ${b64(`\0${user}\0${password}`)}`, [235]).catch(rethrowAuth(s, user));
  } else if (mechanisms.includes("LOGIN")) {
    await s.command("auth", "AUTH LOGIN", [334]);
    await s.command("auth", b64(user), [334]).catch(rethrowAuth(s, user));
    await s.command("auth", b64(password), [235]).catch(rethrowAuth(s, user));
  } else {
    throw s.fail(
      "auth",
      `the server offers no supported AUTH mechanism (PLAIN, LOGIN), only "${ext.get("AUTH") ?? ""}"`,
    );
  }
}

function rethrowAuth(s: Session, user: string) {
  return (err: unknown): never => {
    const f = smtpFailure(err);
    if (f?.reply_code === undefined) throw err;
    throw s.fail("auth", `authentication as "${user}" was refused: ${f.reply}`, f.reply_code, f.reply);
  };
}

/**
 * Delivers one message (headers + body, see `buildMessage`) to `to`.
 * Recipients the server refuses are listed in `rejected`; when it refuses all of them nothing is sent.
 * @throws {AppError} `SMTP_FAILED` naming the stage and the server's reply
 */
export async function sendMail(
  config: SmtpConfig,
  envelope: { readonly from: string; readonly to: readonly string[] },
  message: string,
): Promise<SendResult> {
  for (const a of [envelope.from, ...envelope.to]) {
    if (/[\r\n<>\s]/.test(a) || !a.includes("@")) {
      throw smtpError(`"${a.slice(0, 80)}" is not a plain address`, { stage: "envelope" });
    }
  }
  const s = await connect(config);
  try {
    const greeting = await s.reply("greeting");
    if (greeting.code !== 220) throw s.fail("greeting", `the server answered ${describe(greeting)}`, greeting.code);
    let ext = await hello(s);
    if (!s.tls && ext.has("STARTTLS")) {
      await s.command("starttls", "STARTTLS", [220]);
      await s.handshake();
      ext = await hello(s);
    } else if (!s.tls && config.requireTls) {
      throw s.fail("starttls", "the server does not offer STARTTLS and TLS is required");
    }
    if (config.user || config.password) await authenticate(s, ext);
    await s.command("mail", `MAIL FROM:<${envelope.from}>`, [250]);
    const accepted: string[] = [];
    const rejected: { address: string; reply: string }[] = [];
    for (const to of envelope.to) {
      await s.write("rcpt", `RCPT TO:<${to}>\r\n`);
      const r = await s.reply("rcpt");
      if (r.code === 250 || r.code === 251) accepted.push(to);
      else rejected.push({ address: to, reply: describe(r) });
    }
    if (accepted.length === 0) {
      const list = rejected.map((r) => `${r.address} (${r.reply})`).join(", ");
      throw s.fail("rcpt", `the server refused every recipient: ${list}`, Number(rejected[0]?.reply.slice(0, 3)));
    }
    await s.command("data", "DATA", [354]);
    await s.write("data", dotStuff(message));
    const done = await s.reply("data");
    if (done.code !== 250) throw s.fail("data", `the server refused the message: ${describe(done)}`, done.code);
    await s.write("quit", "QUIT\r\n").then(() => s.reply("quit")).catch(() => {});
    return { accepted, rejected, response: describe(done), tls: s.tls };
  } finally {
    s.close();
  }
}
