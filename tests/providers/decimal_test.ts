import assert from "node:assert/strict";
import { isDecimalString, numberToDecimalString, shiftDecimal } from "../../src/providers/decimal.ts";
import { redact } from "../../src/providers/_redact.ts";

Deno.test("shiftDecimal() moves the point without floating point", () => {
  assert.equal(shiftDecimal("123.45", 2), "1.2345");
  assert.equal(shiftDecimal("123.45", 0), "123.45");
  assert.equal(shiftDecimal("007.500", 1), "0.75");
  assert.equal(shiftDecimal("-0.001", 2), "-0.00001");
  assert.equal(shiftDecimal("-0", 2), "0");
  assert.throws(() => shiftDecimal("+1", 2), RangeError);
});

Deno.test("numberToDecimalString() expands the exponent of a JSON number", () => {
  assert.equal(numberToDecimalString(0.06), "0.06");
  assert.equal(numberToDecimalString(1e-7), "0.0000001");
  assert.equal(numberToDecimalString(-2.5e-8), "-0.000000025");
  assert.equal(numberToDecimalString(1.5e21), "1500000000000000000000");
  assert.equal(numberToDecimalString(12), "12");
  assert.equal(numberToDecimalString(0.1 + 0.2), "0.30000000000000004");
  assert.throws(() => numberToDecimalString(Number.NaN), RangeError);
});

Deno.test("isDecimalString() accepts only plain decimals", () => {
  for (const ok of ["0", "110.00", "-3.5"]) assert.ok(isDecimalString(ok), ok);
  for (const bad of ["", "1.", ".5", "1e3", "1,0", " 1", "NaN"]) assert.ok(!isDecimalString(bad), bad);
});

Deno.test("redact() removes whole, masked and truncated echoes of a secret", () => {
  const key = "sk-admin-Zq8Vn3Lp0Wx5Tr7Ky2";
  assert.equal(redact(`bad key ${key}.`, [key]), "bad key [REDACTED].");
  assert.equal(redact("Your api key: ****7Ky2 is invalid", [key]), "Your api key: [REDACTED] is invalid");
  assert.equal(redact("key sk-adm***Ky2 rejected", [key]), "key [REDACTED] rejected");
  assert.equal(redact("prefix Zq8Vn3Lp0Wx5 only", [key]), "prefix [REDACTED] only");
  assert.equal(redact("Incorrect API key provided", [key]), "Incorrect API key provided");
  assert.equal(redact("token ya29.a0AfB_byC rejected"), "token [REDACTED] rejected");
  assert.equal(redact("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"), "[REDACTED]");
});
