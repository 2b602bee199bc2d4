import { AppError } from "../../src/errors/mod.ts";
import assert from "node:assert/strict";
import { buildMessage, cleanAddress, dotStuff, headerSafe, readSmtpSettings } from "../../src/notify/mod.ts";

Deno.test("headerSafe() and cleanAddress() strip CR/LF so no header can be injected", () => {
  assert.equal(headerSafe("Run failed\r\nBcc: victim@evil.test\nX: y\r"), "Run failed Bcc: victim@evil.test X: y");
  assert.equal(cleanAddress(" ops@acme.test\r\n"), "ops@acme.test");
  assert.throws(() => cleanAddress("ops@acme.test\r\nBcc: victim@evil.test"), /is not a valid email address/);
  assert.throws(() => cleanAddress("ops@acme.test>, <victim@evil.test"), /is not a valid email address/);
  assert.throws(() => cleanAddress("not an address"), /"not an address" is not a valid email address/);
});

Deno.test("buildMessage() writes one-line headers, encodes non-ASCII and picks a safe body encoding", () => {
  const msg = buildMessage({
    from: "Convergence <alerts@convergence.test>",
    to: ["ops@acme.test"],
    subject: "Kostenbericht für März\r\nBcc: victim@evil.test",
    text: "line 1\n.line 2",
    date: new Date("2025-07-01T10:00:00Z"),
    messageId: "<fixed@convergence.test>",
  });
  const [head, body] = msg.split("\r\n\r\n") as [string, string];
  assert.ok(!/^Bcc:/m.test(head));
  assert.match(head, /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=(\r\n =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)*\r\nDate:/m);
  const words = [...head.matchAll(/=\?UTF-8\?B\?([^?]+)\?=/g)].map((m) =>
    new TextDecoder().decode(Uint8Array.from(atob(m[1]!), (c) => c.charCodeAt(0)))
  );
  assert.equal(words.join(""), "Kostenbericht für März Bcc: victim@evil.test");
  assert.match(head, /^Message-ID: <fixed@convergence\.test>$/m);
  assert.match(head, /^Content-Transfer-Encoding: 7bit$/m);
  assert.equal(body, "line 1\r\n.line 2\r\n");
  const utf8 = buildMessage({ from: "a@b.test", to: ["c@d.test"], subject: "s", text: "Grüße" });
  assert.match(utf8, /^Content-Transfer-Encoding: base64\r\n/m);
  assert.ok(utf8.endsWith("\r\n\r\nR3LDvMOfZQ==\r\n"));
});

Deno.test("dotStuff() doubles leading dots and ends the data with a lone dot", () => {
  assert.equal(dotStuff("a\r\n.\r\n..b\r\nc\r\n"), "a\r\n..\r\n...b\r\nc\r\n.\r\n");
  assert.equal(dotStuff("a\nb"), "a\r\nb\r\n.\r\n");
});

Deno.test("readSmtpSettings() skips when the host is unset and reads the defaults", () => {
  assert.equal(readSmtpSettings(() => undefined, { production: true }), undefined);
  const env: Record<string, string> = { MAIL_HOST: "smtp.example.test", SMTP_FROM: "alerts@example.test" };
  const s = readSmtpSettings((n) => env[n], { production: false, hostEnv: "MAIL_HOST" })!;
  assert.deepEqual(s.smtp, { host: "smtp.example.test", port: 587, requireTls: false });
  assert.equal(s.fromAddress, "alerts@example.test");
  assert.equal(
    readSmtpSettings((n) => env[n] ?? (n === "SMTP_HOST" ? "smtp.example.test" : undefined), { production: true })!.smtp
      .requireTls,
    true,
  );
});

Deno.test("readSmtpSettings() lists every problem, with the production rules, and no secret", () => {
  const env: Record<string, string> = {
    SMTP_HOST: "smtp.example.test",
    SMTP_PORT: "99999",
    SMTP_PASSWORD: "hunter2-secret",
    SMTP_REQUIRE_TLS: "false",
    SMTP_TLS_INSECURE: "true",
  };
  assert.throws(() => readSmtpSettings((n) => env[n], { production: true }), (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === "NOTIFIER_MISCONFIGURED");
    assert.deepEqual(err.details?.problems, [
      'SMTP_PORT must be an integer from 1 to 65535, not "99999"',
      "SMTP_USER and SMTP_PASSWORD must be set together",
      "SMTP_FROM is required when SMTP_HOST is set",
      "SMTP_REQUIRE_TLS cannot be false in production",
      "SMTP_TLS_INSECURE is for testing only and is refused in production",
    ]);
    assert.ok(!err.message.includes("hunter2"));
    return true;
  });
});
