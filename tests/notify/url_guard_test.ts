import { AppError } from "../../src/errors/mod.ts";
import assert from "node:assert/strict";
import { checkUrl, guardUrl, ipRefusalReason, parseIPv6, type ResolveDns } from "../../src/notify/mod.ts";

const prod = { production: true, allowedHosts: ["hooks.slack.com"], what: "Slack webhook URL" };
const dev = { production: false, allowedHosts: ["hooks.slack.com"], what: "Slack webhook URL" };

function refused(raw: string, opts: Parameters<typeof checkUrl>[1], reason: RegExp): void {
  assert.throws(() => checkUrl(raw, opts), (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === "URL_REFUSED", `expected URL_REFUSED for ${raw}`);
    assert.match(err.message, reason, raw);
    assert.ok(!err.message.includes("/services/"), "the URL path is never echoed");
    return true;
  });
}

Deno.test("checkUrl() accepts an https hooks.slack.com URL in production", () => {
  const url = checkUrl("https://hooks.slack.com/services/T0/B0/secret", prod);
  assert.equal(url.host, "hooks.slack.com");
});

Deno.test("checkUrl() refuses every private, loopback and special address", async (t) => {
  const cases: [string, RegExp][] = [
    ["https://127.0.0.1/services/x", /loopback/],
    ["https://127.5.6.7/services/x", /loopback/],
    ["https://10.1.2.3/services/x", /private address \(10\.0\.0\.0\/8\)/],
    ["https://172.16.0.1/services/x", /172\.16\.0\.0\/12/],
    ["https://172.31.255.254/services/x", /172\.16\.0\.0\/12/],
    ["https://192.168.1.1/services/x", /192\.168\.0\.0\/16/],
    ["https://169.254.169.254/latest/meta-data", /link-local.*metadata/],
    ["https://0.0.0.0/services/x", /this network/],
    ["https://100.64.0.1/services/x", /carrier-grade NAT/],
    ["https://[::1]/services/x", /loopback address \(::1\)/],
    ["https://[::]/services/x", /unspecified/],
    ["https://[fc00::1]/services/x", /unique-local/],
    ["https://[fd12:3456::1]/services/x", /unique-local/],
    ["https://[fe80::1]/services/x", /link-local/],
    ["https://[::ffff:127.0.0.1]/services/x", /IPv4-mapped alias of 127\.0\.0\.1/],
    ["https://[::ffff:a9fe:a9fe]/services/x", /IPv4-mapped alias of 169\.254\.169\.254/],
    ["https://[64:ff9b::a00:1]/services/x", /NAT64 alias of 10\.0\.0\.1/],
    ["https://localhost/services/x", /loopback name/],
    ["https://api.localhost/services/x", /loopback name/],
  ];
  for (const [raw, reason] of cases) {
    await t.step(raw, () => {
      refused(raw, prod, reason);
      refused(raw, { ...dev, allowedHosts: ["127.0.0.1", "[::1]"] }, reason);
    });
  }
});

Deno.test("checkUrl() refuses numeric aliases of 127.0.0.1 (decimal, hex, octal, short)", async (t) => {
  for (const alias of ["2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "127.1", "017700000001"]) {
    await t.step(alias, () => refused(`https://${alias}/services/x`, prod, /numeric alias of 127\.0\.0\.1/));
  }
  refused("https://0x08080808/x", { ...prod, allowedHosts: ["8.8.8.8"] }, /numeric alias of 8\.8\.8\.8/);
});

Deno.test("checkUrl() refuses http, other schemes and user info", () => {
  refused("http://hooks.slack.com/services/x", prod, /must use https in production/);
  refused("http://hooks.slack.com/services/x", dev, /must use https/);
  refused("ftp://hooks.slack.com/services/x", prod, /scheme "ftp:"/);
  refused("file:///etc/passwd", dev, /scheme "file:"/);
  refused("https://hooks.slack.com@evil.test/services/x", prod, /user info/);
  refused("https://user:pw@hooks.slack.com/services/x", prod, /user info/);
  refused("not a url", prod, /not a valid URL/);
});

Deno.test("checkUrl() refuses hosts outside the allow-list, look-alikes and other ports", () => {
  refused("https://evil.test/services/x", prod, /"evil\.test" is not in the allowed hosts \(hooks\.slack\.com\)/);
  refused("https://hooks.slack.com.evil.test/x", prod, /not in the allowed hosts/);
  refused("https://evil.test#@hooks.slack.com/x", prod, /"evil\.test" is not in the allowed hosts/);
  refused("https://hooks.slack.com:8443/services/x", prod, /"hooks\.slack\.com:8443" is not in the allowed hosts/);
  assert.equal(checkUrl("https://HOOKS.slack.com.:443/services/x", prod).hostname, "hooks.slack.com.");
  refused("https://evil.test/x", { ...dev, devAllowedHosts: ["other.test"] }, /not in the allowed hosts/);
});

Deno.test("checkUrl() lets a dev allow-list add a local sink outside production only", () => {
  const opts = { ...dev, devAllowedHosts: ["127.0.0.1:8080"] };
  assert.equal(checkUrl("http://127.0.0.1:8080/hook", opts).port, "8080");
  refused("http://127.0.0.1:8081/hook", opts, /must use https/);
  refused("https://127.0.0.1:8081/hook", opts, /loopback/);
  refused("https://127.0.0.1:8080/hook", { ...prod, devAllowedHosts: ["127.0.0.1:8080"] }, /loopback/);
  refused("http://127.0.0.1:8080/hook", { ...prod, devAllowedHosts: ["127.0.0.1:8080"] }, /https in production/);
});

const fakeDns = (answers: Record<string, string[]>): ResolveDns => (host, type) => {
  const list = (answers[`${host} ${type}`] ?? []).slice();
  if (!answers[`${host} A`] && !answers[`${host} AAAA`]) return Promise.reject(new Deno.errors.NotFound("no record"));
  return Promise.resolve(list);
};

Deno.test("guardUrl() refuses a name that resolves to a private address in production", async () => {
  const opts = { ...prod, allowedHosts: ["hooks.slack.com", "rebind.test"] };
  const resolveDns = fakeDns({ "rebind.test A": ["203.0.114.9", "10.0.0.7"], "hooks.slack.com A": ["34.1.2.3"] });
  await assert.rejects(
    guardUrl("https://rebind.test/x", { ...opts, resolveDns }),
    /resolves to 10\.0\.0\.7, a private/,
  );
  const v6 = fakeDns({ "rebind.test AAAA": ["fd00::5"] });
  await assert.rejects(
    guardUrl("https://rebind.test/x", { ...opts, resolveDns: v6 }),
    /resolves to fd00::5, a unique-local/,
  );
  const meta = fakeDns({ "rebind.test A": ["169.254.169.254"] });
  await assert.rejects(guardUrl("https://rebind.test/x", { ...opts, resolveDns: meta }), /169\.254\.169\.254/);
  await assert.rejects(guardUrl("https://rebind.test/x", { ...opts, resolveDns: fakeDns({}) }), /does not resolve/);
  const ok = await guardUrl("https://hooks.slack.com/services/x", { ...opts, resolveDns });
  assert.equal(ok.hostname, "hooks.slack.com");
});

Deno.test("guardUrl() skips DNS outside production unless asked", async () => {
  let calls = 0;
  const resolveDns: ResolveDns = () => (calls++, Promise.resolve(["10.0.0.1"]));
  await guardUrl("https://hooks.slack.com/x", { ...dev, resolveDns });
  assert.equal(calls, 0);
  await assert.rejects(guardUrl("https://hooks.slack.com/x", { ...dev, resolveDns, checkDns: true }), /10\.0\.0\.1/);
});

Deno.test("ipRefusalReason() passes public addresses and parses IPv6 forms", () => {
  for (const ip of ["8.8.8.8", "172.32.0.1", "192.169.0.1", "2606:4700::1111", "2a00:1450:4001::200e"]) {
    assert.equal(ipRefusalReason(ip), undefined, ip);
  }
  assert.deepEqual(parseIPv6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  assert.deepEqual(parseIPv6("1::"), [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(parseIPv6("1:::2"), undefined);
  assert.equal(parseIPv6("1:2:3:4:5:6:7:8:9"), undefined);
});
