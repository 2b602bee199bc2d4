/**
 * `deno task prices [--check]`: regenerates configs/<provider>/seed/data/default_pricing.csv for every token-priced
 * provider from the price database bundled in `npm:@pydantic/genai-prices` (the version pinned in deno.json), merged
 * with the hand-kept configs/<provider>/seed/data/pricing_overrides.csv where one exists. `--check` writes nothing
 * and exits 1 when a committed CSV differs. Offline: the database is the installed package, not a download.
 */
import { findProvider } from "@pydantic/genai-prices";
import { parseCsv } from "../compiler/validate_tables.ts";
import { PRICED_SLUGS } from "../src/providers/catalogue.ts";
import {
  CSV_COLUMNS,
  type DbProvider,
  mergeOverrides,
  resolveModel,
  type SeedRow,
  seedRows,
  toCsv,
} from "./genai_prices.ts";

const ROOT = new URL("../", import.meta.url);

/** The package version pinned in deno.json's imports (`npm:@pydantic/genai-prices@X`). */
export async function pinnedVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const spec = String(config.imports?.["@pydantic/genai-prices"] ?? "");
  const m = /^npm:@pydantic\/genai-prices@(\d+\.\d+\.\d+)$/.exec(spec);
  if (!m) throw new Error(`deno.json imports "@pydantic/genai-prices" must pin an exact version, got "${spec}"`);
  return m[1]!;
}

/** Rows of a seed-shaped CSV (the overrides file); missing file -> none. */
async function readRows(path: URL): Promise<SeedRow[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const [header, ...body] = parseCsv(text);
  if (header?.cells.join(",") !== CSV_COLUMNS.join(",")) {
    throw new Error(`${path.pathname}: header must be ${CSV_COLUMNS.join(",")}`);
  }
  return body.map(({ cells }) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i] ?? ""])) as SeedRow);
}

/** Seed CSV path (relative to the repository) -> the text the database and overrides give. */
export async function expectedCsvs(): Promise<Map<string, string>> {
  const version = await pinnedVersion();
  const out = new Map<string, string>();
  for (const slug of PRICED_SLUGS) {
    const db = findProvider({ providerId: slug }) as DbProvider | undefined;
    if (db === undefined) throw new Error(`The price database has no provider "${slug}"`);
    const dir = `configs/${slug}/seed/data`;
    const overrides = await readRows(new URL(`${dir}/pricing_overrides.csv`, ROOT));
    for (const id of new Set(overrides.map((o) => o.model_id))) {
      if (resolveModel(db, id) !== undefined) {
        console.error(`note: ${slug}/${id} is hand-kept in ${dir}/pricing_overrides.csv over the database`);
      }
    }
    out.set(`${dir}/default_pricing.csv`, toCsv(mergeOverrides(seedRows(db, version), overrides)));
  }
  return out;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const stale: string[] = [];
  for (const [path, text] of await expectedCsvs()) {
    const file = new URL(path, ROOT);
    const current = await Deno.readTextFile(file).catch(() => "");
    if (current === text) continue;
    stale.push(path);
    if (!check) await Deno.writeTextFile(file, text);
  }
  if (check && stale.length) {
    console.error(`Default prices differ from the price database; run deno task prices: ${stale.join(", ")}`);
    Deno.exit(1);
  }
  console.log(stale.length ? `wrote ${stale.join(", ")}` : "default prices are up to date");
}
