/**
 * Property-based fuzzing of every operation in generated/openapi.json through one harness's app.request():
 * hostile path segments, queries, bodies and headers, with valid and invalid auth mixed in. Invariants (OWASP API
 * Top 10 2023: API1/API3 object and property authorization, API4 resource consumption, API8 misconfiguration):
 * never a 5xx (a 502/503/504 only where the route calls a provider), every error in the one shape with the request
 * id, nothing internal in any body, no 2xx without the right key, the app still healthy and memory bounded.
 *
 * Reproduce: FUZZ_SEED=<seed> (printed on failure, with the operation's own seed and fast-check's path); FUZZ_RUNS=<n>
 * cases per operation and round (default 100), FUZZ_ROUNDS=<n> rounds (default 2), FUZZ_SHRINK=1 to shrink failures.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- pinned in place: the security suite adds no entry to deno.json
import fc from "npm:fast-check@4.10.2";
import { ROOT } from "../runtime/_harness.ts";
import { errorShapeProblems, leakProblems, ORG_A, ORG_B, startSecurityHarness } from "./_kit.ts";
import { type Body, caseArb, type FuzzCase, type Operation, operations } from "./_fuzz_gen.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20_251_126);
/** Cases per operation and round; two rounds with different seeds make 200 generated requests per operation. */
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 100);
const ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? 2);
const PARALLEL = 8;
const MAX_BODY = 1024 * 1024;
/** Values never sent with a valid key: they would wipe the harness (the flag works as documented). */
const NEVER: Record<string, unknown> = { force_recreate_dataset: true };
/** Routes that call a provider: 502/503/504 from them is a documented "provider unavailable". */
const CALLS_PROVIDER = /^\/api\/v1\/integrations\/\{org_slug\}\/[a-z]+\/(setup|validate)$/;
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

const doc = JSON.parse(await Deno.readTextFile(new URL("../../generated/openapi.json", import.meta.url)));
const OPS = operations(doc);

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly keyOrg: string | undefined;
  readonly pathOrg: string | undefined;
  readonly credentialed: boolean;
  readonly echo: string;
  readonly overLimit: boolean;
}

interface Stats {
  requests: number;
  unsendable: number;
  byStatus: Map<number, number>;
  deep: number;
  maxBytes: number;
  slowest: number;
  knownFindings: Map<string, number>;
}

function bodyInit(b: Body): { body?: BodyInit; contentType?: string; length: number; text: string } {
  if (b.kind === "none") return { length: 0, text: "" };
  if (b.kind === "text") {
    return { body: b.text, length: new TextEncoder().encode(b.text).length, text: b.text, contentType: b.contentType };
  }
  return { body: b.bytes, length: b.bytes.length, text: new TextDecoder().decode(b.bytes), contentType: b.contentType };
}

Deno.test({
  name: "fuzz: every OpenAPI operation survives hostile input with the error shape, no leaks and no 5xx",
  // The background scheduler (kicked by backfills) and DuckDB keep timers/resources that outlive single requests.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const h = await startSecurityHarness({ RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "1000000" });
    const stats: Stats = {
      requests: 0,
      unsendable: 0,
      byStatus: new Map(),
      deep: 0,
      maxBytes: 0,
      slowest: 0,
      knownFindings: new Map(),
    };
    const orgs = [ORG_A, ORG_B] as const;
    const started = performance.now();
    try {
      assert.ok(OPS.length >= 35, `expected the whole API in openapi.json, got ${OPS.length} operations`);

      const build = (op: Operation, c: FuzzCase): Sent | undefined => {
        const org = orgs[c.org];
        const other = orgs[1 - c.org]!;
        let path = op.path;
        let pathOrg: string | undefined;
        for (const p of op.pathParams) {
          const v = c.segments[p] ?? (p === "org_slug" ? org : "x");
          if (p === "org_slug") pathOrg = c.segments[p] === undefined ? org : decodeURIComponentSafe(v);
          path = path.replace(`{${p}}`, v);
        }
        const qs = c.query.length ? `?${new URLSearchParams(c.query)}` : "";
        const headers: Record<string, string> = {};
        let keyOrg: string | undefined;
        const noise = c.keyNoise ?? "";
        switch (c.auth) {
          case "own":
            headers["X-API-Key"] = h.keys[org]!;
            keyOrg = org;
            break;
          case "other":
            headers["X-API-Key"] = h.keys[other]!;
            keyOrg = other;
            break;
          case "root":
            headers["X-CA-Root-Key"] = ROOT;
            break;
          case "both":
            headers["X-CA-Root-Key"] = ROOT;
            headers["X-API-Key"] = h.keys[org]!;
            keyOrg = org;
            break;
          case "garbage":
            headers["X-API-Key"] = `${org}_api_${noise || "AAAAAAAAAAAAAAAAAAAAAAAA"}`;
            headers["X-CA-Root-Key"] = ROOT + noise + "x";
            break;
          case "none":
            break;
        }
        if (c.requestId !== undefined) headers["X-Request-ID"] = c.requestId;
        const b = bodyInit(c.body);
        if (b.contentType) headers["Content-Type"] = b.contentType;
        const url = `http://localhost${path}${qs}`;
        try {
          new Request(url, { method: op.method, headers, ...(b.body !== undefined ? { body: b.body } : {}) });
        } catch {
          return undefined; // e.g. a header value with a control character: no client can send it
        }
        return {
          method: op.method,
          url,
          headers,
          keyOrg,
          pathOrg,
          credentialed: c.auth !== "none" && c.auth !== "garbage",
          echo: `${op.method} ${path.split("/").map(decodeURIComponentSafe).join("/")} ${path} ${
            c.query.flat().join(" ")
          } ${b.text}`,
          overLimit: b.length > MAX_BODY,
        };
      };

      const check = async (op: Operation, c: FuzzCase): Promise<void> => {
        const s = build(op, c);
        if (!s) {
          stats.unsendable++;
          return;
        }
        const body = c.body.kind === "none" ? undefined : bodyInit(c.body).body;
        const t0 = performance.now();
        const res = await h.app.request(s.url, {
          method: s.method,
          headers: s.headers,
          ...(body !== undefined ? { body } : {}),
        });
        const text = await res.text();
        const ms = performance.now() - t0;
        stats.requests++;
        stats.slowest = Math.max(stats.slowest, ms);
        stats.maxBytes = Math.max(stats.maxBytes, text.length);
        stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
        if (res.status < 300) stats.deep++;
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch { /* checked below */ }
        const problems: string[] = [];
        const status = res.status;
        const providerRoute = CALLS_PROVIDER.test(op.path);
        if (status >= 500) {
          const allowed = providerRoute && [502, 503, 504].includes(status);
          if (!allowed) problems.push(`status ${status}`);
          const msg = (json as { error?: { message?: string } })?.error?.message ?? "";
          if (allowed && /Invalid header value|ByteString/.test(msg)) {
            // KNOWN FINDING (reported): a credential that cannot be an HTTP header value is called a provider outage.
            const k = "credential not a valid header value -> 502 after retries";
            stats.knownFindings.set(k, (stats.knownFindings.get(k) ?? 0) + 1);
          }
        }
        if (status >= 400 && json === null) problems.push("error body is not JSON");
        problems.push(...errorShapeProblems(status, res.headers, json));
        const rid = res.headers.get("x-request-id") ?? "";
        const sentRid = s.headers["X-Request-ID"];
        if (sentRid !== undefined && VALID_REQUEST_ID.test(sentRid) && rid !== sentRid) {
          problems.push("a valid X-Request-ID was not echoed");
        }
        if (sentRid !== undefined && !VALID_REQUEST_ID.test(sentRid) && rid === sentRid) {
          problems.push("an invalid X-Request-ID was echoed");
        }
        if (rid.length > 128) problems.push(`X-Request-ID of ${rid.length} chars`);
        problems.push(...leakProblems(text, s.echo, [h.dataDir, ROOT, h.keys[ORG_A]!, h.keys[ORG_B]!], status >= 400));
        if (s.overLimit && status !== 413) problems.push(`body over the limit answered ${status}, not 413`);
        if (text.length > 512 * 1024) problems.push(`response of ${text.length} chars`);
        if (status < 300) {
          // No success without the right credential (API1/API2/API5).
          if (op.auth !== "none" && !s.credentialed) problems.push(`${status} without credentials`);
          if (op.auth === "org" && s.keyOrg === undefined) {
            problems.push(`${status} on an org route without an org key`);
          }
          if (s.pathOrg !== undefined && s.keyOrg !== undefined && s.keyOrg !== s.pathOrg) {
            problems.push(`${status} with ${s.keyOrg}'s key on ${s.pathOrg}'s path`);
          }
          if (op.auth === "root" && !("X-CA-Root-Key" in s.headers)) problems.push(`${status} without the root key`);
        }
        for (const secret of [ROOT]) if (text.includes(secret)) problems.push("the root key is in a response");
        if (
          status === 200 && /\/api-key\/rotate$/.test(op.path) &&
          typeof (json as { api_key?: string })?.api_key === "string"
        ) {
          // A rotation revokes the old key at once: carry on with the new one.
          const j = json as { org_slug: string; api_key: string };
          if (j.org_slug in h.keys) h.keys[j.org_slug] = j.api_key;
        }
        if (problems.length) {
          const b = bodyInit(c.body);
          const logged = status >= 500
            ? h.logs.filter((l) => l.includes(rid) && l.includes('"level":"error"')).map((l) => l.slice(0, 1500))
            : [];
          throw new Error(
            `${op.method} ${op.path}: ${problems.join("; ")}\n  request: ${s.method} ${
              s.url.slice(0, 300)
            } auth=${c.auth}` +
              `\n  body (${c.body.kind}, ${b.length} bytes): ${JSON.stringify(b.text.slice(0, 300))}` +
              `\n  response: ${status} ${text.slice(0, 500)}${
                logged.length ? `\n  logged: ${logged.join("\n  ")}` : ""
              }`,
          );
        }
      };

      const failures: string[] = [];
      const fuzzOperation = async (op: Operation, seed: number) => {
        let problem = "";
        const property = fc.asyncProperty(caseArb(op, MAX_BODY, NEVER), async (c) => {
          try {
            await check(op, c);
          } catch (e) {
            problem = (e as Error).message;
            throw e;
          }
        });
        try {
          await fc.assert(property, { seed, numRuns: RUNS, endOnFailure: Deno.env.get("FUZZ_SHRINK") !== "1" });
        } catch (e) {
          const where = /\{ seed: [^}]*\}/.exec((e as Error).message)?.[0] ?? "";
          failures.push(
            `${op.method} ${op.path}: FUZZ_SEED=${SEED} (operation seed ${seed}) ${where}\n  ${
              (problem || (e as Error).message).slice(0, 3000)
            }`,
          );
        }
      };
      // Each round runs every operation with its own seed; rss is sampled after each round, so a leak (growth per
      // request) shows as growth in every round, while heap churn levels off after the first.
      const rss = [Deno.memoryUsage().rss];
      for (let round = 0; round < ROUNDS; round++) {
        const queue = OPS.map((op, i) => ({ op, seed: SEED + round * 1000 + i }));
        const worker = async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await fuzzOperation(next.op, next.seed);
        };
        await Promise.all(Array.from({ length: PARALLEL }, worker));
        rss.push(Deno.memoryUsage().rss);
      }
      const seconds = (performance.now() - started) / 1000;
      const mb = (n: number) => Math.round(n / 1024 / 1024);
      console.log(
        `fuzz: ${OPS.length} operations x ${ROUNDS} rounds x ${RUNS} cases (seed ${SEED}): ${stats.requests} requests, ` +
          `${stats.unsendable} unsendable by any client, ${stats.deep} reached a handler's success path, ` +
          `${seconds.toFixed(1)} s, slowest ${Math.round(stats.slowest)} ms, largest body ${stats.maxBytes} chars`,
      );
      console.log(
        `fuzz: statuses ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort((a, b) => a[0] - b[0])))}`,
      );
      console.log(`fuzz: rss ${rss.map(mb).join(" -> ")} MiB (start, after each round)`);
      for (const [k, n] of stats.knownFindings) console.log(`fuzz: known finding x${n}: ${k}`);
      assert.deepEqual(failures, [], failures.join("\n\n"));

      await t.step("the app still answers /health and an ordinary request afterwards", async () => {
        const health = await h.request("GET", "/health");
        assert.equal(health.status, 200, health.text);
        assert.equal(health.json.status, "ok");
        const r = await h.request("GET", `/api/v1/integrations/${ORG_A}`, { key: h.keys[ORG_A] });
        assert.equal(r.status, 200, r.text);
      });
      await t.step("memory stays bounded: < 1 GiB over the whole run, < 512 MiB more in the last round", () => {
        const [first, ...rest] = rss as [number, ...number[]];
        const last = rest.at(-1)!;
        assert.ok(last - first < 1024 * 1024 * 1024, `rss ${rss.map(mb).join(" -> ")} MiB`);
        if (rest.length >= 2) {
          const lastRound = last - rest.at(-2)!;
          assert.ok(lastRound < 512 * 1024 * 1024, `rss still growing: ${rss.map(mb).join(" -> ")} MiB`);
        }
      });
    } finally {
      await h.shutdown();
    }
  },
});

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

Deno.test({
  name: "fuzz: a credential that cannot be an HTTP header value is 400 INVALID at once, not a 502",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSecurityHarness({ RATE_LIMIT_ENABLED: "false" });
    try {
      for (const credential of ["sk-admin-\u0001bad", "sk-admin-é😀", "sk-admin-\nInjected: 1"]) {
        const r = await h.request("POST", `/api/v1/integrations/${ORG_A}/openai/setup`, {
          key: h.keys[ORG_A],
          body: { credential },
        });
        assert.equal(r.status, 400, `${JSON.stringify(credential)}: ${r.text}`);
        assert.equal(r.json.validation_status, "INVALID");
      }
      assert.equal(h.openai.requests.length, 0);
    } finally {
      await h.shutdown();
    }
  },
});
