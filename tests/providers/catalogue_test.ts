/**
 * The provider catalogue (src/providers/catalogue.ts) is the one place provider knowledge lives: every entry has
 * its configs and its validator, every provider list elsewhere is derived from it, and no other source file writes
 * a provider list or the slug <-> credential key map by hand again.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { parse } from "yaml";
import {
  BASE_URL_SETTINGS,
  CREDENTIAL_KEY_OF,
  CREDENTIAL_KEYS,
  PRICED_SLUGS,
  PROVIDER_SLUGS,
  PROVIDERS,
  SLUG_OF,
} from "../../src/providers/catalogue.ts";
import { defaultProcessors } from "../../src/processors/mod.ts";
import { kmsDecryptSpec, kmsStoreSpec, seedSpec, validateSpecs } from "../../src/processors/specs.ts";
import { API_NAME } from "../../src/processors/integrations/_credential.ts";
import { CREDENTIAL_PROVIDER } from "../../src/pipeline/executor.ts";
import { NOT_BACKFILLABLE } from "../../src/scheduler/scheduler.ts";
import { COST_PROVIDERS } from "../../src/costs/unified.ts";
import { PRICED_PROVIDERS } from "../../src/pricing/prices.ts";
import { PROVIDERS as DSL_PROVIDERS } from "../../compiler/dsl.ts";
import { pricedParam, providerParam } from "../../runtime/routes/_schemas.ts";
import { loadSettings, SETTINGS_ENV } from "../../runtime/config.ts";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface StepYaml {
  readonly ps_type: string;
  readonly with?: Record<string, unknown>;
}
interface PipelineYaml {
  readonly kind: string;
  readonly integration?: string;
  readonly route?: { readonly path: string };
  readonly steps: readonly StepYaml[];
}

function readPipeline(path: string): PipelineYaml {
  return parse(Deno.readTextFileSync(join(ROOT, "configs", path))) as PipelineYaml;
}

Deno.test("every catalogue provider has its setup and validate configs and a registered validator", async (t) => {
  const registry = defaultProcessors();
  for (const p of PROVIDERS) {
    await t.step(`${p.slug}: configs/integrations/${p.integrationFolder}/ sets up and validates it`, () => {
      for (const action of ["setup", "validate"]) {
        const yml = readPipeline(`integrations/${p.integrationFolder}/${action}.yml`);
        assert.equal(yml.kind, "integration");
        assert.equal(yml.integration, p.slug);
        assert.equal(yml.route?.path, `/integrations/{org_slug}/${p.slug}/${action}`);
        const validate = yml.steps.filter((s) => s.ps_type === p.validator);
        assert.equal(validate.length, 1, `${action}.yml has one step of ps_type "${p.validator}"`);
        for (const s of yml.steps.filter((s) => s.ps_type.startsWith("integrations.kms_"))) {
          assert.equal(s.with?.provider, p.credentialKey, `${action}.yml ${s.ps_type} names ${p.credentialKey}`);
        }
      }
    });
    await t.step(`${p.slug}: processor "${p.validator}" is registered`, () => {
      assert.equal(registry.get(p.validator)?.spec.type, p.validator);
    });
    await t.step(`${p.slug}: its pipelines are the data pipelines that name it`, () => {
      const named = Object.values(pipelines as Record<string, PipelineModule>)
        .filter((m) => m.kind === "data" && m.integration === p.slug).map((m) => m.path).sort();
      assert.deepEqual([...p.pipelines].sort(), named);
      assert.ok(named.length > 0, `${p.slug} has a data pipeline`);
    });
    await t.step(`${p.slug}: a reason is given exactly when it cannot be backfilled`, () => {
      const reason = (p as { noBackfillReason?: string }).noBackfillReason;
      assert.equal(reason === undefined, p.backfillable);
    });
  }

  await t.step("configs/integrations/ holds no folder the catalogue does not name", () => {
    const folders = [...Deno.readDirSync(join(ROOT, "configs/integrations"))].filter((e) => e.isDirectory)
      .map((e) => e.name).sort();
    assert.deepEqual(folders, PROVIDERS.map((p) => p.integrationFolder).sort());
  });

  await t.step("slugs and credential keys are unique", () => {
    assert.equal(new Set(PROVIDER_SLUGS).size, PROVIDERS.length);
    assert.equal(new Set(CREDENTIAL_KEYS).size, PROVIDERS.length);
  });
});

Deno.test("every provider list and map in the code equals the catalogue", async (t) => {
  const slugs = PROVIDERS.map((p) => p.slug);
  const keyOf = Object.fromEntries(PROVIDERS.map((p) => [p.slug, p.credentialKey]));
  const slugOf = Object.fromEntries(PROVIDERS.map((p) => [p.credentialKey, p.slug]));
  const priced = PROVIDERS.filter((p) => p.pricing === "token_prices").map((p) => p.slug);

  await t.step("the slug lists: compiler DSL, costs, catalogue", () => {
    assert.deepEqual([...DSL_PROVIDERS], slugs);
    assert.deepEqual([...COST_PROVIDERS], slugs);
    assert.deepEqual([...PROVIDER_SLUGS], slugs);
  });
  await t.step("the priced lists: pricing, the seed processor's config", () => {
    assert.deepEqual([...PRICED_PROVIDERS], priced);
    assert.deepEqual([...PRICED_SLUGS], priced);
    assert.deepEqual(seedSpec.config.shape.provider.options, priced);
  });
  await t.step("the slug -> credential key maps: executor, catalogue", () => {
    assert.deepEqual({ ...CREDENTIAL_PROVIDER }, keyOf);
    assert.deepEqual({ ...CREDENTIAL_KEY_OF }, keyOf);
  });
  await t.step("the routes' provider path params: integrations (every provider), pricing (the priced ones)", () => {
    assert.deepEqual(providerParam.options, slugs, "the route lists providers in catalogue order");
    assert.deepEqual(pricedParam.options, priced);
  });
  await t.step("the credential key -> slug maps: processors, catalogue", () => {
    assert.deepEqual({ ...API_NAME }, slugOf);
    assert.deepEqual({ ...SLUG_OF }, slugOf);
  });
  await t.step("the credential processors accept exactly the catalogue's keys", () => {
    const keys = PROVIDERS.map((p) => p.credentialKey);
    assert.deepEqual(kmsStoreSpec.config.shape.provider.options, keys);
    assert.deepEqual(kmsDecryptSpec.config.shape.provider.options, keys);
  });
  await t.step("one validate processor spec per provider, of its validator type", () => {
    assert.deepEqual(validateSpecs.map((s) => s.type), PROVIDERS.map((p) => p.validator));
  });
  await t.step("the pipelines that cannot be backfilled are those of providers that cannot", () => {
    const expected = Object.fromEntries(
      PROVIDERS.filter((p) => !p.backfillable).flatMap((p) =>
        p.pipelines.map((path) => [path, (p as { noBackfillReason?: string }).noBackfillReason])
      ),
    );
    assert.deepEqual({ ...NOT_BACKFILLABLE }, expected);
    assert.ok(Object.keys(expected).length > 0, "the catalogue has a provider that cannot be backfilled");
  });
  await t.step("each base-URL setting is read from the environment with the catalogue's default", () => {
    const withUrl = PROVIDERS.filter((p) => p.baseUrl !== null);
    assert.deepEqual(BASE_URL_SETTINGS.map((b) => b.setting), withUrl.map((p) => p.baseUrl!.setting));
    const defaults = loadSettings({}).settings as unknown as Record<string, unknown>;
    const env = Object.fromEntries(withUrl.map((p) => [p.baseUrl!.setting, `https://${p.slug}.example.test/x`]));
    const overridden = loadSettings(env).settings as unknown as Record<string, unknown>;
    for (const p of withUrl) {
      assert.ok((SETTINGS_ENV as readonly string[]).includes(p.baseUrl!.setting), p.baseUrl!.setting);
      assert.equal(defaults[`${p.slug}BaseUrl`], p.baseUrl!.default);
      assert.equal(overridden[`${p.slug}BaseUrl`], `https://${p.slug}.example.test/x`);
    }
  });
});

/** The names a hand-written provider list would repeat, from the catalogue itself. */
const SLUG = PROVIDERS.map((p) => p.slug).join("|");
const KEY = PROVIDERS.map((p) => p.credentialKey).join("|");
const NAME = `${SLUG}|${KEY}`;
/**
 * Two quoted slugs side by side in an array, an enum or a union (`["openai", "anthropic"`, `"openai" | "gcp"`, a
 * union one member a line); the padded cells of a Markdown table in a doc comment (`'openai'   | 'gcp'`) are no list.
 */
const SLUG_LIST = new RegExp(`["'\`](${SLUG})["'\`](?: ?[,|]|\\s*\\n\\s*\\|)\\s*["'\`](${SLUG})["'\`]`);
/** One entry of a map between the two names: `openai: "OPENAI"`, `GCP_SA: "gcp"`. */
const NAME_MAP = new RegExp(`\\b(${NAME})\\s*:\\s*["'\`](${NAME})["'\`]`);
const QUOTED_KEY = new RegExp(`["'\`](${KEY})["'\`]`, "g");
const SETTING = PROVIDERS.flatMap((p) => p.baseUrl ? [p.baseUrl.setting] : []).join("|");
const QUOTED_SETTING = new RegExp(`["'\`](${SETTING})["'\`]`, "g");

/** Why `source` holds a hand-written provider list, or undefined when it holds none. */
function scatter(source: string): string | undefined {
  const list = source.match(SLUG_LIST);
  if (list) return `a list of provider slugs (${list[0]})`;
  const map = source.match(NAME_MAP);
  if (map) return `a slug <-> credential key map (${map[0]})`;
  const keys = new Set([...source.matchAll(QUOTED_KEY)].map((m) => m[1]));
  if (keys.size >= 2) return `${keys.size} credential keys (${[...keys].join(", ")})`;
  const settings = new Set([...source.matchAll(QUOTED_SETTING)].map((m) => m[1]));
  if (settings.size >= 2) return `${settings.size} base-URL settings (${[...settings].join(", ")})`;
  return undefined;
}

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("no source file but the catalogue writes a provider list or the slug <-> key map by hand", async (t) => {
  await t.step("the guard finds each kind of hand-written list", () => {
    assert.match(scatter(`const P = ["openai", "anthropic", "deepseek"] as const;`) ?? "", /list of provider slugs/);
    assert.match(scatter(`type P = "deepseek" | "gcp";`) ?? "", /list of provider slugs/);
    assert.match(scatter(`enum: ['openai', 'gcp']`) ?? "", /list of provider slugs/);
    assert.match(scatter(`const P = [\n  "openai",\n  "gcp",\n];`) ?? "", /list of provider slugs/);
    assert.match(scatter(`type P =\n  | "openai"\n  | "gcp";`) ?? "", /list of provider slugs/);
    assert.match(scatter(`const m = { openai: "OPENAI" };`) ?? "", /map/);
    assert.match(scatter(`const m = { GCP_SA: "gcp" };`) ?? "", /map/);
    assert.match(scatter(`z.enum(["OPENAI", "ANTHROPIC"])`) ?? "", /credential keys/);
    assert.match(scatter(`if (p === "OPENAI") a(); else if (p === "GCP_SA") b();`) ?? "", /2 credential keys/);
    assert.match(scatter(`url(env, "OPENAI_BASE_URL"); url(env, "DEEPSEEK_BASE_URL");`) ?? "", /base-URL settings/);
  });
  await t.step("the guard lets one provider's own code name it", () => {
    assert.equal(scatter(`throw invalid("GCP_SA", "No billing_export_table"); invalid("GCP_SA", "x");`), undefined);
    assert.equal(scatter(`tokenTable("openai", "project_id"), tokenTable("anthropic", "workspace_id")`), undefined);
    assert.equal(scatter(`const checks = { OPENAI: async () => {}, GCP_SA: async () => {} };`), undefined);
    assert.equal(scatter(`provider: "openai", table: "openai_cost_daily"`), undefined);
    assert.equal(scatter(` * | provider | 'openai' / 'anthropic'      | 'deepseek'         | 'gcp' |`), undefined);
  });

  const catalogue = join(ROOT, "src/providers/catalogue.ts");
  const found: string[] = [];
  let scanned = 0;
  for (const dir of ["compiler", "runtime", "src"]) {
    for (const path of sources(join(ROOT, dir))) {
      if (path === catalogue) continue;
      scanned++;
      const why = scatter(Deno.readTextFileSync(path));
      if (why) found.push(`${relative(ROOT, path)}: ${why}`);
    }
  }
  await t.step(`compiler/, runtime/ and src/ (${scanned} files) derive every provider list from the catalogue`, () => {
    assert.ok(scanned > 100, `scanned ${scanned} files`);
    assert.deepEqual(found, [], `derive these from src/providers/catalogue.ts instead:\n${found.join("\n")}`);
  });
});
