/** The SMTP client against scripted servers (Deno.listen) that misbehave: silence and STARTTLS injection. */
import assert from "node:assert/strict";
import { sendMail, smtpFailure } from "../../src/notify/mod.ts";

/** A one-connection server: each entry waits for one client line (when `expect` is set) and writes `send`. */
function scripted(script: { expect?: RegExp; send?: string }[]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    try {
      for (const step of script) {
        if (step.expect) {
          const n = await conn.read(buf);
          if (n === null) return;
          const line = new TextDecoder().decode(buf.subarray(0, n));
          seen.push(line.trim());
          assert.match(line, step.expect);
        }
        if (step.send) await conn.write(new TextEncoder().encode(step.send));
      }
      await conn.read(buf); // hold the connection until the client closes it
    } catch {
      /* the client closed first */
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })();
  const port = listener.addr.port;
  return { port, seen, close: async () => (await done, listener.close()) };
}

const envelope = { from: "alerts@convergence.test", to: ["ops@acme.test"] };

Deno.test("sendMail() gives up on a server that never greets", async () => {
  const server = scripted([]);
  try {
    await assert.rejects(
      sendMail(
        { host: "127.0.0.1", port: server.port, requireTls: false, timeoutMs: 200 },
        envelope,
        "Subject: x\r\n\r\nx\r\n",
      ),
      (err: unknown) => {
        assert.equal(smtpFailure(err)?.stage, "greeting");
        assert.equal(
          (err as Error).message,
          `SMTP greeting failed at 127.0.0.1:${server.port}: no answer within 200 ms`,
        );
        return true;
      },
    );
  } finally {
    await server.close();
  }
});

Deno.test("sendMail() refuses replies smuggled in before the STARTTLS handshake", async () => {
  const server = scripted([
    { send: "220 scripted ESMTP\r\n" },
    { expect: /^EHLO /, send: "250-scripted\r\n250 STARTTLS\r\n" },
    { expect: /^STARTTLS\r\n$/, send: "220 go ahead\r\n250 injected before TLS\r\n" },
  ]);
  try {
    await assert.rejects(
      sendMail({ host: "127.0.0.1", port: server.port, requireTls: true, timeoutMs: 2_000 }, envelope, "x\r\n"),
      /SMTP starttls failed at .*: the server sent data before the TLS handshake/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("sendMail() stops at the conversation deadline", async () => {
  const server = scripted([{ send: "220 slow ESMTP\r\n" }, { expect: /^EHLO /, send: "250-slow\r\n" }]);
  try {
    await assert.rejects(
      sendMail(
        { host: "127.0.0.1", port: server.port, requireTls: false, timeoutMs: 5_000, deadlineMs: 300 },
        envelope,
        "x\r\n",
      ),
      /SMTP ehlo failed at .*: the conversation took longer than 300 ms/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("sendMail() checks envelope addresses before connecting", async () => {
  await assert.rejects(
    sendMail({ host: "127.0.0.1", port: 9, requireTls: false }, {
      from: "a@b.test",
      to: ["x@y.test>\r\nRCPT TO:<z@evil.test"],
    }, "x"),
    /is not a plain address/,
  );
});
