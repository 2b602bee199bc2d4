/**
 * `.dockerignore` keeps a developer's data (root key, KEK, warehouse), VCS history and local caches out of the
 * image that `COPY . .` builds, and keeps what the server needs. Patterns are matched the way Docker does
 * (Go filepath.Match per path, `**` for any depth; a pattern also excludes everything below what it matches).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

function toRegExp(pattern: string): RegExp {
  const p = pattern.replace(/^\/+|\/+$/g, "");
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === "*" && p[i + 1] === "*") {
      re += ".*";
      i++;
      if (p[i + 1] === "/") i++;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}(/.*)?$`);
}

async function rules(): Promise<{ exclude: RegExp; negated: boolean }[]> {
  const text = await Deno.readTextFile(`${ROOT}.dockerignore`);
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => ({
    negated: l.startsWith("!"),
    exclude: toRegExp(l.replace(/^!/, "")),
  }));
}

function ignored(path: string, list: { exclude: RegExp; negated: boolean }[]): boolean {
  let out = false;
  for (const r of list) if (r.exclude.test(path)) out = !r.negated;
  return out;
}

Deno.test(".dockerignore keeps data directories, secrets, .git and caches out of the image", async () => {
  const list = await rules();
  for (
    const path of [
      "data/root_api_key",
      "data/kek.key",
      "data/warehouse.duckdb",
      "data/warehouse.duckdb.wal",
      "data/imports/acme/file.csv",
      "data-demo/warehouse.duckdb",
      "data-2/root_api_key",
      "other/place/warehouse.duckdb",
      "somewhere/root_api_key",
      ".git/config",
      "node_modules/hono/package.json",
      ".scratch/notes.ts",
      ".env",
    ]
  ) assert.ok(ignored(path, list), `${path} would be copied into the image`);
});

Deno.test(".dockerignore keeps every file the server needs in the image", async () => {
  const list = await rules();
  const out = await new Deno.Command("git", { args: ["ls-files"], cwd: ROOT, stdout: "piped" }).output();
  const tracked = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
  const needed = tracked.filter((f) =>
    /^(runtime|src|generated|configs|compiler)\//.test(f) || f === "deno.json" || f === "deno.lock"
  );
  assert.ok(needed.length > 50, `only ${needed.length} tracked files found`);
  for (const f of needed) assert.ok(!ignored(f, list), `${f} is needed by the server but ignored`);
});
