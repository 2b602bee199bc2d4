/**
 * Request generators for the fuzz suite (fast-check arbitraries built from the OpenAPI document): hostile path
 * segments, query values, bodies (wrong types, huge and deeply nested values, lone surrogates, invalid UTF-8,
 * duplicate keys, out-of-range number literals, over the body limit) and headers, mixed with valid and invalid auth.
 */
// deno-lint-ignore no-import-prefix -- pinned in place: the security suite adds no entry to deno.json
import fc from "npm:fast-check@4.10.2";

export type Schema = Record<string, unknown>;

export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly auth: "root" | "org" | "root_or_org" | "none";
  readonly pathParams: readonly string[];
  readonly query: Readonly<Record<string, Schema>>;
  readonly body?: Schema;
}

/** Every operation of an OpenAPI document. */
export function operations(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? []) as { name: string; in: string; schema: Schema }[];
      const body = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.[
        "application/json"
      ]?.schema;
      out.push({
        method: method.toUpperCase(),
        path,
        auth: (op["x-auth"] ?? "none") as Operation["auth"],
        pathParams: params.filter((p) => p.in === "path").map((p) => p.name),
        query: Object.fromEntries(params.filter((p) => p.in === "query").map((p) => [p.name, p.schema])),
        ...(body ? { body } : {}),
      });
    }
  }
  return out;
}

/** Strings that break naive SQL, templates, shells, paths and parsers. */
export const HOSTILE = [
  "'; DROP TABLE organizations.org_api_keys; --",
  "' OR '1'='1",
  '" OR ""="',
  "1; SELECT * FROM organizations.org_api_keys",
  "{{ params.credential }}",
  "{{ env.environment }}",
  "${Deno.env.toObject()}",
  "#{7*7}",
  "%00",
  "\u0000",
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2fkek.key",
  "imports/../kek.key",
  "/etc/passwd",
  "file:///etc/passwd",
  "http://169.254.169.254/latest/meta-data/",
  "<script>alert(1)</script>",
  "\r\nX-Injected: 1",
  "\ud800",
  "\udfff\ud800",
  "😀\u202e\u200b",
  "",
  " ",
  "null",
  "true",
  "-0",
  "1e309",
  "NaN",
  "\\",
  "%",
  "%E0%A4%A",
] as const;

/** Raw (already URL-ready) path segments, sent verbatim. */
const RAW_SEGMENTS = [
  "..",
  "%2e%2e",
  "%2e%2e%2f",
  "..%2f..%2f",
  "%2F",
  "%00",
  "%",
  "%E0%A4%A",
  "%ff%fe",
  "%ED%A0%80", // an encoded lone surrogate
  "a%0d%0aX-Injected:%201",
  ";",
  "*",
  "~",
  "%252e%252e%252f",
];

/** Percent-encodes any string, lone surrogates included (they become U+FFFD). */
export function encodeSegment(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const huge = (min: number, max: number) =>
  fc.tuple(fc.constantFrom("a", "é", "😀", "'", "\u0000", "{{", "%"), fc.integer({ min, max }))
    .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

const unicode = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }), // any code point, lone surrogates included
  fc.constantFrom("\ud800", "a\udc00b", "\u{10ffff}", "\ufeff", "\u0085\u2028\u2029"),
);

/** A hostile string of any kind. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 3, arbitrary: unicode },
  { weight: 1, arbitrary: huge(1_000, 200_000) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTILE), unicode).map(([a, b]) => a + b) },
);

/** A path segment: valid-looking, hostile (encoded) or raw. */
export function segment(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...valid) },
    { weight: 3, arbitrary: hostileString.filter((s) => s.length < 20_000).map(encodeSegment) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

/** A JSON value nested `n` levels deep (arrays or objects), written out as text only when the body is built. */
export class Deep {
  constructor(readonly n: number, readonly arrays: boolean) {}
  text(): string {
    return this.arrays
      ? "[".repeat(this.n) + "1" + "]".repeat(this.n)
      : '{"a":'.repeat(this.n) + "1" + "}".repeat(this.n);
  }
  toString(): string {
    return `Deep(${this.n}, ${this.arrays ? "arrays" : "objects"})`;
  }
}

/** Deeply nested values, up to 10k levels. */
const deep = fc.tuple(fc.integer({ min: 100, max: 10_000 }), fc.boolean()).map(([n, arr]) => new Deep(n, arr));

/** JSON text of a generated value (Deep values written out without recursion). */
export function jsonText(v: unknown): string {
  if (v instanceof Deep) return v.text();
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const parts = Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) =>
      `${JSON.stringify(k)}:${jsonText(x)}`
    );
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, -1e-308, Number.MIN_VALUE),
  fc.constantFrom([], {}, [1, "a"], { $gt: "" }, { constructor: { prototype: 1 } }),
  fc.constant(null).map(() => JSON.parse('{"__proto__": {"is_admin": true}}')),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
);

/** A value that fits `schema` (roughly): enum members, a matching string, a date, a number in range. */
export function validValue(schema: Schema): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as Schema[]).map(validValue));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  switch (schema.type) {
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: (schema.minimum as number) ?? -1000, max: (schema.maximum as number) ?? 1_000_000 });
    case "number":
      return fc.double({
        min: (schema.minimum as number) ?? -1e6,
        max: (schema.maximum as number) ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "null":
      return fc.constant(null);
    case "string": {
      if (schema.format === "date") {
        return fc.oneof(
          fc.date({ min: new Date("2000-01-01"), max: new Date("2030-12-31"), noInvalidDate: true })
            .map((d) => d.toISOString().slice(0, 10)),
          fc.constantFrom("0001-01-01", "9999-12-31", "2025-02-29", "2024-02-29", "2025-13-01", "2025-1-1"),
        );
      }
      if (schema.format === "email") return fc.emailAddress();
      if (typeof schema.pattern === "string" && schema.pattern.includes("(?")) {
        return fc.constantFrom("billing.jsonl", "export.csv", "acme-prod.billing.gcp_billing_export_v1_0123AB_CDEF45");
      }
      if (typeof schema.pattern === "string") {
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) =>
          s.length <= ((schema.maxLength as number) ?? 200)
        );
      }
      return fc.string({ minLength: (schema.minLength as number) ?? 0, maxLength: 60 });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Any value for a field: valid, of a wrong type, hostile text, huge, deeply nested, or a number at the edges. */
export function fieldValue(schema: Schema): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: validValue(schema) },
    { weight: 3, arbitrary: wrongType },
    { weight: 3, arbitrary: hostileString },
    { weight: 1, arbitrary: deep },
  );
}

/** A text that stands for a JSON value inside a raw body: number literals JSON.stringify cannot write, deep text. */
const rawLiteral = fc.oneof(
  fc.constantFrom("1e309", "-1e309", "-0", "NaN", "Infinity", "-Infinity", "0x10", "01", "1e-400", "9".repeat(400)),
  fc.constantFrom('"\\ud800"', '"\\u0000"', '"\\x41"', "'single'", "undefined", "[1,]", "{,}", "true false"),
  fc.integer({ min: 1_000, max: 10_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.integer({ min: 1_000, max: 10_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
  fc.integer({ min: 1_000, max: 10_000 }).map((n) => "[".repeat(n)), // unterminated
);

export type Body =
  | { kind: "none" }
  | { kind: "text"; text: string; contentType?: string }
  | { kind: "bytes"; bytes: Uint8Array<ArrayBuffer>; contentType?: string };

const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [
  0xf4,
  0x90,
  0x80,
  0x80,
]];

/** A request body for `schema` (or for a route without one), with `never` fields dropped (e.g. destructive flags). */
export function bodyArb(
  schema: Schema | undefined,
  maxBytes: number,
  never: Record<string, unknown>,
): fc.Arbitrary<Body> {
  const props = (schema?.properties ?? {}) as Record<string, Schema>;
  const names = Object.keys(props);
  const fieldArbs = Object.fromEntries(
    names.map((n) => [n, fieldValue(props[n]!).filter((v) => !(n in never && Object.is(never[n], v)))]),
  );
  const object = fc.record(fieldArbs, { requiredKeys: [] }).chain((o) =>
    fc.option(
      fc.tuple(fc.constantFrom("extra", "__proto__", "constructor", "org_slug", "", "a".repeat(300)), fieldValue({})),
      {
        nil: undefined,
      },
    ).map((extra) => (extra ? { ...o, [extra[0]]: extra[1] } : o))
  );
  const field = names.length ? fc.constantFrom(...names) : fc.constant("x");
  const safeValue = (n: string) => fieldValue(props[n] ?? {}).filter((v) => !(n in never) || !Object.is(never[n], v));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<Body>({ kind: "none" }) },
    {
      weight: 10,
      arbitrary: fc.tuple(
        object,
        fc.constantFrom(undefined, "application/json", "text/plain", "application/x-www-form-urlencoded"),
      )
        .map(([o, ct]) => ({ kind: "text" as const, text: jsonText(o), ...(ct ? { contentType: ct } : {}) })),
    },
    {
      // duplicate keys: the second one wins in JSON.parse
      weight: 2,
      arbitrary: field.chain((n) =>
        fc.tuple(safeValue(n), safeValue(n)).map(([a, b]) => ({
          kind: "text" as const,
          text: `{${JSON.stringify(n)}: ${jsonText(a)}, ${JSON.stringify(n)}: ${jsonText(b)}}`,
        }))
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(field, rawLiteral).map(([n, lit]) => ({
        kind: "text" as const,
        text: `{${JSON.stringify(n)}: ${lit}}`,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom("[]", '"a"', "1", "null", "{", "}", "{}}", '{"a":1} {"b":2}', "\ufeff{}", "\u0000"),
        rawLiteral,
      ).map((text) => ({ kind: "text" as const, text })),
    },
    {
      // invalid UTF-8 inside an otherwise well-formed JSON object
      weight: 3,
      arbitrary: fc.tuple(object, fc.constantFrom(...INVALID_UTF8), fc.nat()).map(([o, bad, at]) => {
        const json = new TextEncoder().encode(jsonText({ ...o, s: "XX" }));
        const i = Math.max(0, json.lastIndexOf(0x58)); // inside the "XX" string value
        const pos = at % 2 === 0 ? i : at % Math.max(1, json.length);
        const bytes = new Uint8Array([...json.subarray(0, pos), ...bad, ...json.subarray(pos)]);
        return { kind: "bytes" as const, bytes, contentType: "application/json" };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: "bytes" as const, bytes })),
    },
    {
      // one byte over the body limit, and a huge (200 KB) but allowed string field
      weight: 1,
      arbitrary: fc.tuple(field, fc.boolean()).map(([n, over]) => ({
        kind: "text" as const,
        text: over
          ? `{${JSON.stringify(n)}: "${"a".repeat(maxBytes)}"}`
          : `{${JSON.stringify(n)}: "${"é".repeat(100_000)}"}`,
      })),
    },
  );
}

/** Query strings: valid values, hostile text, repeated keys, unknown keys. */
export function queryArb(query: Readonly<Record<string, Schema>>): fc.Arbitrary<[string, string][]> {
  const names = [...Object.keys(query), "wait", "limit", "unknown", "__proto__"];
  const value = (n: string) =>
    fc.oneof(
      validValue(query[n] ?? { type: "string" }).map((v) => String(v)),
      hostileString.filter((s) => s.length < 5_000),
      fc.constantFrom("true", "false", "0", "-1", "1e309", "500", "501", "[]", "NaN"),
    );
  return fc.array(fc.constantFrom(...names).chain((n) => value(n).map((v) => [n, v] as [string, string])), {
    maxLength: 4,
  });
}

export type AuthChoice = "own" | "other" | "root" | "none" | "garbage" | "both";

export interface FuzzCase {
  readonly auth: AuthChoice;
  readonly org: 0 | 1;
  /** Value of each path parameter (org_slug included) as a URL-ready segment; undefined org_slug = the org's slug. */
  readonly segments: Record<string, string | undefined>;
  readonly query: [string, string][];
  readonly body: Body;
  readonly requestId: string | undefined;
  readonly keyNoise: string | undefined;
}

const VALID_SEGMENTS: Record<string, readonly string[]> = {
  provider: ["openai", "anthropic", "deepseek", "gcp", "azure", "OPENAI"],
  model_id: ["gpt-4o", "claude-sonnet-4", "deepseek-chat", "no-such-model", "a:b/c.d-e"],
  plan_name: ["TIER1", "PLUS", "NO_SUCH_PLAN"],
  run_id: ["sec_alpha-openai-usage-cost-20250101", "00000000-0000-0000-0000-000000000000", "x"],
};

export function caseArb(op: Operation, maxBytes: number, never: Record<string, unknown>): fc.Arbitrary<FuzzCase> {
  const seg: Record<string, fc.Arbitrary<string | undefined>> = {};
  for (const p of op.pathParams) {
    seg[p] = p === "org_slug"
      ? fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: segment(["sec_gamma"]) })
      : segment(VALID_SEGMENTS[p] ?? ["x"]);
  }
  return fc.record({
    auth: fc.constantFrom<AuthChoice>("own", "own", "own", "own", "other", "root", "none", "garbage", "both"),
    org: fc.constantFrom<0 | 1>(0, 1),
    segments: fc.record(seg),
    query: queryArb(op.query),
    body: op.method === "GET" ? fc.constant<Body>({ kind: "none" }) : bodyArb(op.body, maxBytes, never),
    requestId: fc.option(
      fc.oneof(
        fc.constantFrom(
          "fuzz-request-0001",
          "short",
          "bad id with spaces",
          "a\u0001b-control-chars",
          "\u00ff".repeat(20),
        ),
        fc.integer({ min: 129, max: 100_000 }).map((n) => "r".repeat(n)),
      ),
      { nil: undefined },
    ),
    keyNoise: fc.option(
      fc.oneof(
        fc.constantFrom("\u0001", "\u007f", "\t", " ", "'; DROP TABLE x; --", "%00", "\u00e9"),
        fc.integer({ min: 201, max: 20_000 }).map((n) => "k".repeat(n)),
      ),
      { nil: undefined },
    ),
  });
}
