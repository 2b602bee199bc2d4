/**
 * Least privilege (OWASP API8 security misconfiguration): `deno task start` and the Dockerfile grant explicit
 * permissions (never -A/--allow-all, never subprocesses); the Dockerfile narrows reads to /app,/data and writes to
 * /data. A probe run with the start task's flags, narrowed the Dockerfile's way, shows a read outside those folders,
 * a write outside /data, an unlisted environment variable and a subprocess refused with NotCapable; and the product
 * itself starts and serves under the Dockerfile's exact flags.
 */
import { LIBRARY_ENV, SETTINGS_ENV } from "../../runtime/config.ts";
import assert from "node:assert/strict";
import { ROOT } from "../runtime/_harness.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { dockerRunCommand, spawnServer, taskRunCommand } from "./_server.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** What the server may be granted at all; anything else (run, import, all) is a finding. */
const ALLOWED_FLAGS = /^--allow-(net|read|write|env|ffi|sys)(=.+)?$/;
const FORBIDDEN_FLAGS =
  /^(-A|--allow-all|--allow-run(=.*)?|--allow-import(=.*)?|--allow-scripts(=.*)?|--unsafely-ignore-certificate-errors.*)$/;

const flagValue = (flags: readonly string[], name: string) =>
  flags.find((f) => f === `--allow-${name}` || f.startsWith(`--allow-${name}=`));

Deno.test("privileges: deno task start, deno task demo and the Dockerfile grant explicit, bounded permissions", async (t) => {
  for (const task of ["start", "demo"]) {
    await t.step(`deno task ${task}`, async () => {
      const { flags, entry } = await taskRunCommand(task);
      assert.ok(flags.length > 0, "no permission flags at all");
      for (const f of flags) {
        assert.doesNotMatch(f, FORBIDDEN_FLAGS, `${task} grants ${f}`);
        assert.match(f, ALLOWED_FLAGS, `${task} grants an unexpected permission ${f}`);
      }
      assert.match(entry, /\.ts$/);
    });
  }
  await t.step(
    "Dockerfile: non-root user, reads only /app and /data, writes only /data, listed sys calls",
    async () => {
      const text = await Deno.readTextFile(`${REPO}/Dockerfile`);
      const { flags } = await dockerRunCommand();
      for (const f of flags) {
        assert.doesNotMatch(f, FORBIDDEN_FLAGS, `Dockerfile grants ${f}`);
        assert.match(f, ALLOWED_FLAGS, `Dockerfile grants an unexpected permission ${f}`);
      }
      const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
      assert.ok(users.length && users.at(-1) !== "root" && users.at(-1) !== "0", `runs as ${users.at(-1) ?? "root"}`);
      const read = flagValue(flags, "read");
      assert.ok(read?.includes("="), `reads are not narrowed: ${read}`);
      assert.deepEqual(read!.split("=")[1]!.split(",").sort(), ["/app", "/data"]);
      const write = flagValue(flags, "write");
      assert.equal(write, "--allow-write=/data", `writes are not narrowed to /data: ${write}`);
      assert.ok(flagValue(flags, "sys")?.includes("="), "every sys call is granted");
      const env = flagValue(flags, "env");
      assert.ok(env?.includes("="), `every environment variable is granted: ${env}`);
      const granted = new Set(env!.split("=")[1]!.split(","));
      const missing = SETTINGS_ENV.filter((name) => !granted.has(name));
      assert.deepEqual(missing, [], "every setting the product reads is granted in the Dockerfile");
      // --allow-net stays unbounded because provider hosts are deployment settings.
      console.log(`privileges: Dockerfile flags ${flags.join(" ")}`);
    },
  );
});

/** The start task's flags with reads/writes/env narrowed the Dockerfile's way (/app -> the repo, /data -> dataDir). */
async function narrowedStartFlags(dataDir: string, env: string[]): Promise<string[]> {
  const { flags } = await taskRunCommand("start");
  const docker = await dockerRunCommand();
  const mapPaths = (f: string | undefined) =>
    f?.replace("/app", REPO).replace("/data", dataDir).replace("/data", dataDir);
  return flags.map((f) => {
    if (/^--allow-read(=|$)/.test(f)) {
      return mapPaths(flagValue(docker.flags, "read")) ?? `--allow-read=${REPO},${dataDir}`;
    }
    if (/^--allow-write(=|$)/.test(f)) return mapPaths(flagValue(docker.flags, "write")) ?? `--allow-write=${dataDir}`;
    if (/^--allow-env(=|$)/.test(f)) return `--allow-env=${env.join(",")}`;
    if (/^--allow-sys(=|$)/.test(f)) return flagValue(docker.flags, "sys") ?? f;
    return f;
  });
}

Deno.test({
  name: "privileges: under the start task's flags narrowed like the Dockerfile, reads, writes, env and run are refused",
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "conv-sec-priv-" });
    const outside = await Deno.makeTempDir({ prefix: "conv-sec-outside-" });
    try {
      await Deno.writeTextFile(`${dataDir}/inside.txt`, "inside");
      await Deno.writeTextFile(`${outside}/secret.txt`, "outside");
      const probe = `${dataDir}/probe.ts`;
      await Deno.writeTextFile(
        probe,
        `const out: Record<string, string> = {};
const attempt = async (name: string, f: () => unknown) => {
  try { await f(); out[name] = "allowed"; } catch (e) { out[name] = (e as Error).name; }
};
await attempt("read /etc/hostname", () => Deno.readTextFile("/etc/hostname"));
await attempt("read outside", () => Deno.readTextFile(${JSON.stringify(`${outside}/secret.txt`)}));
await attempt("read DATA_DIR", () => Deno.readTextFile(${JSON.stringify(`${dataDir}/inside.txt`)}));
await attempt("read the repo", () => Deno.readTextFile(${JSON.stringify(`${REPO}/deno.json`)}));
await attempt("write the repo", () => Deno.writeTextFile(${JSON.stringify(`${REPO}/.probe-write`)}, "x"));
await attempt("write outside", () => Deno.writeTextFile(${JSON.stringify(`${outside}/w.txt`)}, "x"));
await attempt("write DATA_DIR", () => Deno.writeTextFile(${JSON.stringify(`${dataDir}/w.txt`)}, "x"));
await attempt("env HOME", () => Deno.env.get("HOME"));
await attempt("env AWS_SECRET_ACCESS_KEY", () => Deno.env.get("AWS_SECRET_ACCESS_KEY"));
await attempt("env all", () => Deno.env.toObject());
await attempt("env DATA_DIR", () => Deno.env.get("DATA_DIR"));
await attempt("run a subprocess", () => new Deno.Command("true").output());
console.log(JSON.stringify(out));
`,
      );
      const flags = await narrowedStartFlags(dataDir, ["DATA_DIR", "PORT", "CA_ROOT_API_KEY"]);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, probe],
        env: { DATA_DIR: dataDir, AWS_SECRET_ACCESS_KEY: "not-for-you", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const got = JSON.parse(text);
      console.log(`privileges: probe under ${flags.join(" ")}\n  -> ${text.trim()}`);
      assert.deepEqual(got, {
        "read /etc/hostname": "NotCapable",
        "read outside": "NotCapable",
        "read DATA_DIR": "allowed",
        "read the repo": "allowed",
        "write the repo": "NotCapable",
        "write outside": "NotCapable",
        "write DATA_DIR": "allowed",
        "env HOME": "NotCapable",
        "env AWS_SECRET_ACCESS_KEY": "NotCapable",
        "env all": "NotCapable",
        "env DATA_DIR": "allowed",
        "run a subprocess": "NotCapable",
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "privileges: the product serves under the Dockerfile's exact flags, and its read sandbox stops an escaping symlink",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "conv-sec-docker-" });
    const outside = await Deno.makeTempDir({ prefix: "conv-sec-outside-" });
    const sa = await generateTestServiceAccount();
    const oauth = startGcpOAuthStandIn({ accounts: { [sa.clientEmail]: sa.publicKey } });
    const docker = await dockerRunCommand();
    const flags = docker.flags.map((f) => f.replaceAll("/app", REPO).replaceAll("/data", dataDir));
    // A billing export symlinked out of the org's DATA_DIR/imports folder.
    await Deno.writeTextFile(`${outside}/secret.jsonl`, '{"secret": "outside /app and /data"}\n');
    await Deno.mkdir(`${dataDir}/imports/docker_org`, { recursive: true });
    await Deno.symlink(`${outside}/secret.jsonl`, `${dataDir}/imports/docker_org/link.jsonl`);
    const server = await spawnServer({
      flags,
      entry: docker.entry,
      env: {
        ...docker.env,
        DATA_DIR: dataDir,
        PORT: "0",
        CA_ROOT_API_KEY: ROOT,
        SCHEDULER_ENABLED: "false",
        GCP_TOKEN_URI: oauth.tokenUri,
      },
    });
    const post = async (path: string, body: unknown, headers: Record<string, string> = { "X-CA-Root-Key": ROOT }) => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) };
    };
    try {
      assert.ok(server.url, `did not start under ${flags.join(" ")}:\n${server.output().slice(0, 2000)}`);
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200, await health.text());
      const boot = await post("/api/v1/admin/bootstrap", {});
      assert.equal(boot.status, 200, boot.text);
      const org = await post("/api/v1/organizations/onboard", {
        org_slug: "docker_org",
        company_name: "Docker",
        admin_email: "ops@docker.test",
      });
      assert.equal(org.status, 201, org.text);
      // Deno's read sandbox refuses the symlink's target before DuckDB (native code, outside the sandbox) reads it.
      const setup = await post(
        "/api/v1/integrations/docker_org/gcp/setup",
        { credential: sa.json, billing_export_table: "link.jsonl" },
        { "X-API-Key": org.json.api_key },
      );
      assert.equal(setup.status, 400, setup.text);
      assert.ok(!setup.text.includes("outside /app"), setup.text);
      const status = await server.stop();
      assert.equal(status.code, 0, server.output().slice(-1000));
      assert.doesNotMatch(server.output(), /NotCapable|PermissionDenied/, "a permission was missing at run time");
      console.log(`privileges: served /health and bootstrap under ${flags.join(" ")}`);
    } finally {
      await server.stop();
      await oauth.close();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    }
  },
});

Deno.test({
  name: "privileges: the product starts with --allow-env narrowed to the variables it documents",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "conv-sec-env-" });
    const names = [...SETTINGS_ENV, ...LIBRARY_ENV];

    const server = await spawnServer({
      flags: await narrowedStartFlags(dataDir, names),
      env: { DATA_DIR: dataDir, PORT: "0", CA_ROOT_API_KEY: ROOT, SCHEDULER_ENABLED: "false" },
    });
    try {
      assert.ok(server.url, server.output().slice(0, 1500));
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
