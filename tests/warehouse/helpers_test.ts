import assert from "node:assert/strict";
import { scanParams, usedParams } from "../../src/warehouse/_sql.ts";
import { formatDecimal, formatTimestamp, isDay, parseDecimal, parseTimestamp } from "../../src/warehouse/_rows.ts";
import { qualified } from "../../src/warehouse/mod.ts";

Deno.test("scanParams() rewrites @params outside strings, quoted names and comments", () => {
  const sql = `SELECT '@a', "@b", \`@c\`, 'it''s @d', 'x\\'@e' -- @f
    /* @g */ FROM t WHERE x = @h AND y = @h AND z = @@session.i AND w=@j_2`;
  const { sql: out, names } = scanParams(sql, (n) => `$${n}`);
  assert.deepEqual(names, ["h", "j_2"]);
  assert.ok(out.endsWith("x = $h AND y = $h AND z = @@session.i AND w=$j_2"));
  assert.ok(out.includes(`'@a', "@b", \`@c\`, 'it''s @d'`));
});

Deno.test("usedParams() refuses missing parameters and unsafe names", () => {
  assert.deepEqual(usedParams(["a"], { a: null, b: 1 }), [["a", null]]);
  assert.throws(() => usedParams(["a"], {}), /"@a" is used in the SQL but not given/);
  assert.throws(() => usedParams([], { "a;b": 1 }), /Invalid query parameter name/);
});

Deno.test("parseDecimal() keeps 9 decimals, rounding half away from zero", () => {
  assert.equal(parseDecimal("0.000000001"), 1n);
  assert.equal(parseDecimal("1e-9"), 1n);
  assert.equal(parseDecimal("-1.0000000005"), -1000000001n);
  assert.equal(parseDecimal("1.00000000049"), 1000000000n);
  assert.equal(parseDecimal("3E2"), 300000000000n);
  assert.equal(parseDecimal(".5"), 500000000n);
  assert.equal(parseDecimal("abc"), null);
  assert.equal(parseDecimal("."), null);
  assert.equal(formatDecimal(-100000000n), "-0.100000000");
  assert.equal(formatDecimal(12345678901234567890123456789n), "12345678901234567890.123456789");
});

Deno.test("parseTimestamp() reads ISO forms to UTC microseconds and formatTimestamp() writes them back", () => {
  assert.equal(parseTimestamp("2024-01-02T03:04:05.123456Z"), 1704164645123456n);
  assert.equal(parseTimestamp("2024-01-02 04:04:05.123456+01:00"), 1704164645123456n);
  assert.equal(parseTimestamp("2024-01-02"), 1704153600000000n);
  assert.equal(parseTimestamp("2024-02-30T00:00:00Z"), null);
  assert.equal(parseTimestamp("yesterday"), null);
  assert.equal(formatTimestamp(1704164645123456n), "2024-01-02T03:04:05.123456Z");
  assert.equal(formatTimestamp(1704164645123000n), "2024-01-02T03:04:05.123Z");
  assert.equal(formatTimestamp(-1n), "1969-12-31T23:59:59.999999Z");
  assert.equal(isDay("2024-02-29"), true);
  assert.equal(isDay("2023-02-29"), false);
});

Deno.test("qualified() accepts only lowercase snake_case identifiers", () => {
  assert.equal(qualified("organizations", "org_profiles"), "organizations.org_profiles");
  for (const bad of ["", "1abc", "Abc", "a-b", "a.b", "a b", 'a"', "a`", "ä"]) {
    assert.throws(() => qualified(bad, "t"), /Invalid dataset name/);
    assert.throws(() => qualified("d", bad), /Invalid table name/);
  }
});
