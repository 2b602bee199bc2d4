/**
 * The email notifier in a real SMTP conversation with a local smtp-server (npm) started here:
 * STARTTLS with a self-signed certificate (trusted through SMTP_CA_CERT), AUTH PLAIN/LOGIN, DATA.
 */
import assert from "node:assert/strict";
import { AppError } from "../../src/errors/mod.ts";
// deno-lint-ignore no-import-prefix -- a test-only dependency, pinned here rather than in deno.json imports
import { SMTPServer } from "npm:smtp-server@3.21.6";
import { createEmailProcessor } from "../../src/processors/notify/email.ts";
import type { ProcessorContext } from "../../src/processors/context.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { createCentralStores } from "../../src/central/mod.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import type { KeyVault } from "../../src/vault/vault.ts";
import { tables } from "../../generated/pipelines/setup/bootstrap.ts";

// A self-signed test certificate for localhost and 127.0.0.1 (EC P-256, valid 2024-2124). Test use only.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMjQwMTAxMDAwMDAwWhgPMjEyNDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABK7lLmiBg8OEXiSz
5IHBPMKyiLK93M3xv2E0UQKTH76G7ZLgyQjlgOcWtJa2zeqi/QnTMAC0AW0R8rP/
Q6PC8tujcDBuMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAMBgNVHRMBAf8E
AjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4E
FgQU89EiCRpHxqgUbug1HgPX6sIprg8wCgYIKoZIzj0EAwIDSAAwRQIgOdZOjak2
2+jNSAcvDY59vZO515QwXp4AsWCgyTSkCVECIQCujZDayGkhc5kP3vBumIN2wkst
4RaZC5Bza72M9DZMKg==
-----END CERTIFICATE-----`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgERpTMLBMIZRxyKsO
uMKmHvQt0BKh/OpfDp3SCoBtOW2hRANCAASu5S5ogYPDhF4ks+SBwTzCsoiyvdzN
8b9hNFECkx++hu2S4MkI5YDnFrSWts3qov0J0zAAtAFtEfKz/0OjwvLb
-----END PRIVATE KEY-----`;
const PASSWORD = "correct-horse-battery-staple";

interface Received {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
  user: string | undefined;
}

interface ServerOptions {
  hideSTARTTLS?: boolean;
  authMethods?: string[];
  rejectRcpt?: RegExp;
}

async function startSmtp(opts: ServerOptions = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    key: KEY,
    cert: CERT,
    logger: false,
    hideSTARTTLS: opts.hideSTARTTLS ?? false,
    authMethods: opts.authMethods ?? ["PLAIN", "LOGIN"],
    authOptional: true,
    // deno-lint-ignore no-explicit-any -- smtp-server ships no types
    onAuth(auth: any, _session: unknown, cb: (err: Error | null, res?: { user: string }) => void) {
      if (auth.username === "notifier" && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    // deno-lint-ignore no-explicit-any -- smtp-server ships no types
    onRcptTo(address: any, _session: unknown, cb: (err?: Error | null) => void) {
      if (opts.rejectRcpt?.test(address.address)) {
        cb(Object.assign(new Error("5.1.1 No such user here"), { responseCode: 550 }));
      } else cb();
    },
    // deno-lint-ignore no-explicit-any -- smtp-server ships no types
    onData(stream: any, session: any, cb: () => void) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r: { address: string }) => r.address),
          raw: new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
          secure: session.secure,
          user: session.user,
        });
        cb();
      });
    },
  });
  const errors: Error[] = [];
  server.on("error", (err: Error) => errors.push(err));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return { received, errors, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function smtpEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(port),
    SMTP_USER: "notifier",
    SMTP_PASSWORD: PASSWORD,
    SMTP_FROM: "Convergence Alerts <alerts@convergence.test>",
    SMTP_CA_CERT: CERT,
    ...extra,
  };
}

function fakeCtx(opts: { profiles?: Record<string, string>; notifyEmails?: string[]; error?: string } = {}) {
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const queries: { sql: string; params: Record<string, unknown> }[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    logs.push({ level, msg, ...(fields ? { fields } : {}) });
  const warehouse = {
    query(sql: string, params: Record<string, unknown>) {
      queries.push({ sql, params });
      if (sql.includes("org_profiles")) {
        const email = opts.profiles?.[String(params.org_slug)];
        return Promise.resolve(email ? [{ admin_email: email }] : []);
      }
      return Promise.resolve(opts.notifyEmails ? [{ notify_emails: opts.notifyEmails }] : []);
    },
    tableExists: () => Promise.resolve(true),
  };
  const ctx = {
    warehouse,
    // The real orgs store over the recording warehouse (the vault is never used by it).
    stores: createCentralStores(warehouse as unknown as Warehouse, tables, {} as KeyVault),
    env: { environment: "development", datasetSuffix: "local" },
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    now: () => new Date("2025-07-01T10:00:00Z"),
    pipeline: {
      path: "openai/usage_cost",
      id: "openai-usage-cost",
      description: "Daily OpenAI usage",
    } as PipelineModule,
    org: { slug: "acme_1", dataset: "acme_1_local" },
    run: { id: "acme_1-openai-usage-cost-20250701100000-ab12cd34", trigger: "on_failure" },
    params: { status: "FAILED", error: opts.error ?? "OpenAI answered 401" },
    state: new Map(),
  } as unknown as ProcessorContext;
  return { ctx, logs, queries };
}

const config = { subject_prefix: "[Convergence]", smtp_host_env: "SMTP_HOST" };
const email = (env: Record<string, string>) => createEmailProcessor({ getEnv: (n) => env[n], timeoutMs: 5_000 });

/** Header name to value from the raw message's header block. */
function headers(raw: string): Map<string, string> {
  const block = raw.slice(0, raw.indexOf("\r\n\r\n"));
  return new Map(
    block.split("\r\n").map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 2)]),
  );
}

Deno.test("email notifier delivers over STARTTLS with AUTH, and a CRLF in the subject injects no header", async () => {
  const smtp = await startSmtp();
  try {
    const { ctx, logs } = fakeCtx({ error: "first line\n.\n.hidden dot line\nBcc: nobody@evil.test" });
    const prefix = "[Conv]\r\nBcc: victim@evil.test\r\nX-Injected: yes";
    await email(smtpEnv(smtp.port)).run(ctx, {
      ...config,
      subject_prefix: prefix,
      to: ["ops@acme.test", "cto@acme.test"],
    });
    assert.equal(smtp.received.length, 1);
    const msg = smtp.received[0]!;
    assert.equal(msg.secure, true, "the session was upgraded with STARTTLS");
    assert.equal(msg.user, "notifier");
    assert.equal(msg.from, "alerts@convergence.test");
    assert.deepEqual(msg.to, ["ops@acme.test", "cto@acme.test"]);
    const h = headers(msg.raw);
    assert.equal(
      h.get("subject"),
      '[Conv] Bcc: victim@evil.test X-Injected: yes Pipeline "openai/usage_cost" FAILED for org "acme_1"',
    );
    assert.equal(h.has("bcc"), false);
    assert.equal(h.has("x-injected"), false);
    assert.equal(h.get("to"), "ops@acme.test, cto@acme.test");
    assert.equal(h.get("from"), '"Convergence Alerts" <alerts@convergence.test>');
    assert.equal(h.get("date"), "Tue, 01 Jul 2025 10:00:00 +0000");
    const body = msg.raw.slice(msg.raw.indexOf("\r\n\r\n") + 4);
    assert.match(body, /Run: +acme_1-openai-usage-cost-20250701100000-ab12cd34\r\n/);
    assert.match(
      body,
      /Error:\r\nfirst line\r\n\.\r\n\.hidden dot line\r\nBcc: nobody@evil\.test\r\n/,
      "dot lines survive",
    );
    assert.ok(
      logs.some((l) => l.msg === "email notification sent" && l.fields?.recipients === 2 && l.fields?.tls === true),
    );
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier mails the org's admin_email and notify_emails, found with parameterised queries", async () => {
  const smtp = await startSmtp({ authMethods: ["LOGIN"] });
  try {
    const { ctx, queries } = fakeCtx({
      profiles: { acme_1: "admin@acme.test" },
      notifyEmails: ["oncall@acme.test", "ADMIN@acme.test"],
    });
    await email(smtpEnv(smtp.port)).run(ctx, config);
    assert.deepEqual(smtp.received[0]?.to, ["admin@acme.test", "oncall@acme.test"]);
    assert.equal(smtp.received[0]?.user, "notifier", "AUTH LOGIN when PLAIN is not offered");
    for (const q of queries) {
      assert.ok(!q.sql.includes("acme_1"), "the org slug travels as a parameter");
      assert.equal(q.params.org_slug, "acme_1");
    }
    assert.equal(queries[1]?.params.pipeline_path, "openai/usage_cost");
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier fails clearly when the server rejects the recipients", async () => {
  const smtp = await startSmtp({ rejectRcpt: /@acme\.test$/ });
  try {
    const { ctx } = fakeCtx();
    await assert.rejects(
      email(smtpEnv(smtp.port)).run(ctx, { ...config, to: ["ops@acme.test"] }),
      (err: Error) => {
        assert.ok(err instanceof AppError && err.code === "SMTP_FAILED", String(err));
        assert.match(
          err.message,
          new RegExp(
            `^SMTP rcpt failed at 127\\.0\\.0\\.1:${smtp.port}: the server refused every recipient: ops@acme\\.test \\(550 5\\.1\\.1 No such user here\\)$`,
          ),
        );
        return true;
      },
    );
    assert.equal(smtp.received.length, 0);
    const partial = fakeCtx();
    await email(smtpEnv(smtp.port)).run(partial.ctx, { ...config, to: ["ops@acme.test", "ops@other.test"] });
    assert.deepEqual(smtp.received[0]?.to, ["ops@other.test"]);
    assert.ok(partial.logs.some((l) => l.level === "warn" && l.fields?.refused === 1));
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier errors never contain the password", async () => {
  const smtp = await startSmtp();
  try {
    const { ctx } = fakeCtx();
    const env = smtpEnv(smtp.port, { SMTP_PASSWORD: "wrong-password-123" });
    await assert.rejects(email(env).run(ctx, { ...config, to: ["ops@acme.test"] }), (err: Error) => {
      assert.match(err.message, /^SMTP auth failed at .*: authentication as "notifier" was refused: 535/);
      assert.ok(!err.message.includes("wrong-password-123"));
      assert.ok(!err.message.includes(btoa("\0notifier\0wrong-password-123")));
      return true;
    });
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier refuses to go on without TLS when TLS is required or credentials are set", async () => {
  const smtp = await startSmtp({ hideSTARTTLS: true });
  try {
    const { ctx } = fakeCtx();
    const to = { ...config, to: ["ops@acme.test"] };
    await assert.rejects(
      email(smtpEnv(smtp.port, { SMTP_REQUIRE_TLS: "true" })).run(ctx, to),
      /SMTP starttls failed at .*: the server does not offer STARTTLS and TLS is required/,
    );
    await assert.rejects(
      email(smtpEnv(smtp.port)).run(ctx, to),
      /refusing to send credentials over an unencrypted connection/,
    );
    assert.equal(smtp.received.length, 0);
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier does not trust an unknown certificate", async () => {
  const smtp = await startSmtp();
  try {
    const { ctx } = fakeCtx();
    const env = smtpEnv(smtp.port);
    delete env.SMTP_CA_CERT;
    await assert.rejects(
      email(env).run(ctx, { ...config, to: ["ops@acme.test"] }),
      /SMTP starttls failed at .*: TLS handshake failed/,
    );
    assert.equal(smtp.received.length, 0);
  } finally {
    await smtp.close();
  }
});

Deno.test("email notifier skips with a log line when SMTP_HOST is unset", async () => {
  const { ctx, logs } = fakeCtx();
  assert.deepEqual(await email({}).run(ctx, config), {});
  assert.deepEqual(logs, [{
    level: "info",
    msg: "email notification not configured; skipped",
    fields: { env_var: "SMTP_HOST" },
  }]);
});
