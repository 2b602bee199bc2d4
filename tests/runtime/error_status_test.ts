/**
 * The code -> status table (`runtime/error_status.ts`) against the sources: every code the product throws or
 * tests for is in the table (a missing one would render as a 500), and every entry of the table is used somewhere
 * (no dead codes).
 */
import assert from "node:assert/strict";
import { ERROR_STATUS, statusOf } from "../../runtime/error_status.ts";
import { DEPENDENCY_CODES, TRANSIENT_CODES } from "../../src/errors/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const CODE = String.raw`"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})"`;
/** Where a code is written in the sources: thrown, produced by a factory, or tested for. */
const CODE_SITES = [
  new RegExp(String.raw`new AppError\(\s*${CODE}`, "g"),
  new RegExp(String.raw`\b(?:badRequest|vaultError)\(\s*${CODE}`, "g"),
  new RegExp(String.raw`\bcode\s*[!=]==\s*${CODE}`, "g"),
  new RegExp(String.raw`\b(?:existsCode|overlapCode):\s*${CODE}`, "g"),
  new RegExp(String.raw`(?:\bcode\s*=|\bsuper\()[^;]*?\?\s*${CODE}\s*:\s*${CODE}`, "g"),
];

async function sources(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${rel}${e.name}`;
      if (e.isDirectory) await visit(new URL(`${e.name}/`, dir), `${path}/`);
      else if (e.name.endsWith(".ts")) out.set(path, await Deno.readTextFile(new URL(e.name, dir)));
    }
  };
  for (const top of ["src", "runtime"]) await visit(new URL(`${top}/`, ROOT), `${top}/`);
  return out;
}

function codesWritten(text: string): string[] {
  const found: string[] = [];
  for (const re of CODE_SITES) {
    for (const m of text.matchAll(re)) found.push(...m.slice(1).filter((c): c is string => c !== undefined));
  }
  return found;
}

Deno.test("every error code the sources throw or test for has a status in runtime/error_status.ts", async () => {
  const files = await sources();
  const missing: string[] = [];
  let seen = 0;
  for (const [path, text] of files) {
    for (const code of codesWritten(text)) {
      seen++;
      if (!(code in ERROR_STATUS)) missing.push(`${path}: ${code}`);
    }
  }
  for (const code of [...TRANSIENT_CODES, ...DEPENDENCY_CODES]) {
    if (!(code in ERROR_STATUS)) missing.push(`src/errors/codes.ts: ${code}`);
  }
  assert.ok(seen > 50, `the scan found only ${seen} code sites: the patterns no longer match the sources`);
  assert.deepEqual(missing, []);
});

Deno.test("every code in runtime/error_status.ts is thrown or named somewhere in src/ or runtime/", async () => {
  const files = await sources();
  files.delete("runtime/error_status.ts");
  const all = [...files.values()].join("\n");
  const dead = Object.keys(ERROR_STATUS).filter((code) => !all.includes(`"${code}"`));
  assert.deepEqual(dead, []);
});

Deno.test("the scan sees a code missing from the table, so a new code cannot slip through", () => {
  const found = codesWritten(
    `throw new AppError(\n  "NOT_A_REAL_CODE", "x");\nif (e.code === "ALSO_MADE_UP") {}\nconst code = x ? "ONE_MORE" : "AND_LAST";`,
  );
  assert.deepEqual(found, ["NOT_A_REAL_CODE", "ALSO_MADE_UP", "ONE_MORE", "AND_LAST"]);
  assert.ok(!("NOT_A_REAL_CODE" in ERROR_STATUS));
  assert.equal(statusOf("NOT_A_REAL_CODE"), 500);
});

Deno.test("transient codes are server-side failures (5xx) or a lost write race (409)", () => {
  for (const code of TRANSIENT_CODES) {
    const status = statusOf(code);
    assert.ok(status >= 500 || code === "WRITE_CONFLICT", `${code} is ${status}`);
  }
  for (const code of DEPENDENCY_CODES) assert.ok(TRANSIENT_CODES.has(code), `${code} is a dependency failure`);
});
