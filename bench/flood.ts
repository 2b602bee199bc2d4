/**
 * Flood benchmark (issue 13): does a flood of well-formed random org keys from one client slow another org down?
 * The real server runs as a child process on a fresh DATA_DIR with the default rate limits; two orgs are onboarded.
 * A victim client (this process) sends a cheap authenticated `GET /api/v1/integrations/{victim}` sequentially, paced
 * under its own org's rate limit, in three phases, each on a freshly started server (so the victim's cached key
 * never ages past the key cache's TTL inside a phase):
 *   a. baseline, no other load;
 *   b. while a flooder (this script as a second child, `--flooder`) sends `{attacker}_api_{random}` keys as fast as
 *      it can from several concurrent loopback connections;
 *   c. the same flood with RATE_LIMIT_ENABLED=false (no per-client limit), to show what the limit buys;
 *   d. reference: the same number of connections flooding an unknown route with no key (a 404 that never reaches
 *      auth), the cheapest request the app answers: what the request rate alone costs the victim.
 * Phases b-d run for each flooder connection count in FLOOD_CONNECTIONS (default 8 and 64).
 * Reported: victim p50/p95/p99 per phase and the ratio flood/baseline, the flooder's status mix and rate, the
 * warehouse key lookups the flood caused (counted in the server by the preload `bench/_lookup_counter.ts`), and the
 * CPU the server and the flooder used (share of one core).
 * Run: deno run -A bench/flood.ts   (FLOOD_N, FLOOD_VICTIM_RPS, FLOOD_CONNECTIONS, FLOOD_RAMP_MS override defaults)
 */
import { spawnServer, startPermissions } from "./_util.ts";

const N = Number(Deno.env.get("FLOOD_N") ?? 400);
const VICTIM_RPS = Number(Deno.env.get("FLOOD_VICTIM_RPS") ?? 40);
const CONNECTIONS = (Deno.env.get("FLOOD_CONNECTIONS") ?? "8,64").split(",").map(Number);
const RAMP_MS = Number(Deno.env.get("FLOOD_RAMP_MS") ?? 1500);
const ROOT = "flood-root-key-0123456789abcdef0123456789";
const VICTIM = "flood_victim";
const ATTACKER = "flood_attacker";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const CLK_TCK = 100; // Linux USER_HZ

/**
 * Flooder mode: `connections` loops until stdin closes, then the status mix as JSON. Mode "keys": random well-formed
 * keys; mode "404": an unknown route with no key (never reaches auth: the cheapest request the app answers).
 */
async function flooder(url: string, slug: string, connections: number, mode: string): Promise<void> {
  const statuses: Record<string, number> = {};
  let stop = false;
  let ready = false;
  const randomKey = () => {
    let s = "";
    for (let i = 0; i < 24; i++) s += ALPHABET[Math.floor(Math.random() * 62)];
    return `${slug}_api_${s}`;
  };
  const t0 = performance.now();
  const loop = async () => {
    while (!stop) {
      try {
        const r = mode === "keys"
          ? await fetch(`${url}/api/v1/integrations/${slug}`, { headers: { "X-API-Key": randomKey() } })
          : await fetch(`${url}/api/v1/no-such-route`);
        await r.body?.cancel();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
      if (!ready) {
        ready = true;
        console.log("ready");
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  for await (const _ of Deno.stdin.readable) { /* runs until the parent closes stdin */ }
  stop = true;
  await Promise.all(loops);
  const seconds = (performance.now() - t0) / 1000;
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ statuses, total, rps: Math.round(total / seconds) }));
}

/** utime + stime of a process in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** Time all threads of a process spent runnable but waiting for a CPU, in ms (Linux /proc/<pid>/task/<tid>/schedstat). */
function runQueueWaitMs(pid: number): number {
  let ns = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[1]);
    } catch { /* thread ended */ }
  }
  return ns / 1e6;
}

function percentile(sorted: number[], p: number): number {
  return +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readCount(file: string): Promise<number> {
  await sleep(250); // the counter writes every 100 ms
  try {
    return Number(await Deno.readTextFile(file));
  } catch {
    return 0;
  }
}

interface Phase {
  victim: { p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number; statuses: Record<string, number> };
  seconds: number;
  server_cpu_pct: number;
  server_runqueue_wait_pct: number;
  flood?: {
    statuses: Record<string, number>;
    total: number;
    rps: number;
    cpu_pct: number;
    server_cpu_us_per_request: number;
  };
  key_lookups: number;
}

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "conv-flood-" });
  const lookupFile = `${dataDir}.lookups`;
  const baseEnv = {
    DATA_DIR: dataDir,
    CA_ROOT_API_KEY: ROOT,
    SCHEDULER_ENABLED: "false",
    FLOOD_LOOKUP_FILE: lookupFile,
  };
  const args = ["run", ...startPermissions(), "--preload=bench/_lookup_counter.ts", "runtime/main.ts"];

  // Setup: bootstrap and two orgs.
  let server = await spawnServer(args, baseEnv, "/health");
  const post = (path: string, body: unknown) =>
    fetch(server.url + path, {
      method: "POST",
      headers: { "X-CA-Root-Key": ROOT, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json());
  await post("/api/v1/admin/bootstrap", {});
  let victimKey = "";
  for (const slug of [VICTIM, ATTACKER]) {
    const r = await post("/api/v1/organizations/onboard", {
      org_slug: slug,
      company_name: slug,
      admin_email: `ops@${slug.replace("_", "-")}.example`,
    });
    if (!r.api_key) throw new Error(`onboarding ${slug} failed: ${JSON.stringify(r)}`);
    if (slug === VICTIM) victimKey = r.api_key;
  }
  await server.stop();

  const victimGet = async () => {
    const t0 = performance.now();
    const r = await fetch(`${server.url}/api/v1/integrations/${VICTIM}`, { headers: { "X-API-Key": victimKey } });
    await r.text();
    return { ms: performance.now() - t0, status: r.status };
  };

  async function phase(opts: { flood?: "keys" | "404"; limit: boolean; connections?: number }): Promise<Phase> {
    await Deno.remove(lookupFile).catch(() => {});
    server = await spawnServer(args, { ...baseEnv, RATE_LIMIT_ENABLED: String(opts.limit) }, "/health");
    for (let i = 0; i < 20; i++) await victimGet(); // caches the victim's key, warms the JIT
    await sleep(1000); // the victim's org bucket refills
    let child: Deno.ChildProcess | undefined;
    let childOut: Promise<string> | undefined;
    if (opts.flood) {
      child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          "--flooder",
          server.url,
          ATTACKER,
          String(opts.connections),
          opts.flood,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("ready\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`flooder exited early: ${out}`);
        out += value;
      }
      childOut = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return out;
          out += value;
        }
      })();
      await sleep(RAMP_MS); // past the per-client burst: the steady state of the flood
    }
    const lookups0 = await readCount(lookupFile);
    const floodCpu0 = child ? cpuMs(child.pid) : 0;
    const cpu0 = cpuMs(server.child.pid);
    const wait0 = runQueueWaitMs(server.child.pid);
    const t0 = performance.now();
    const lat: number[] = [];
    const statuses: Record<string, number> = {};
    for (let i = 0; i < N; i++) {
      const due = t0 + (i * 1000) / VICTIM_RPS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const r = await victimGet();
      lat.push(r.ms);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs(server.child.pid) - cpu0;
    const wait = runQueueWaitMs(server.child.pid) - wait0;
    const floodCpu = child ? cpuMs(child.pid) - floodCpu0 : 0;
    const lookups = (await readCount(lookupFile)) - lookups0;
    let flood: Phase["flood"];
    if (child) {
      await child.stdin.close();
      const out = await childOut!;
      await child.status;
      const last = out.trim().split("\n").at(-1)!;
      const f = JSON.parse(last);
      flood = {
        ...f,
        cpu_pct: Math.round(floodCpu / seconds / 10),
        server_cpu_us_per_request: Math.round(cpu * 1000 / f.total),
      };
    }
    await server.stop();
    lat.sort((a, b) => a - b);
    return {
      victim: {
        p50_ms: percentile(lat, 50),
        p95_ms: percentile(lat, 95),
        p99_ms: percentile(lat, 99),
        max_ms: +lat.at(-1)!.toFixed(2),
        statuses,
      },
      seconds: +seconds.toFixed(1),
      server_cpu_pct: Math.round(cpu / seconds / 10),
      // Share of the phase the server's threads (summed) were runnable but waiting for a CPU: CPU starvation.
      server_runqueue_wait_pct: Math.round(wait / seconds / 10),
      ...(flood ? { flood } : {}),
      key_lookups: lookups,
    };
  }

  const baseline = await phase({ limit: true });
  const ratio = (p: Phase, k: "p50_ms" | "p95_ms" | "p99_ms") => +(p.victim[k] / baseline.victim[k]).toFixed(2);
  const byConnections: Record<string, unknown> = {};
  for (const connections of CONNECTIONS) {
    const limited = await phase({ flood: "keys", limit: true, connections });
    const unlimited = await phase({ flood: "keys", limit: false, connections });
    const reference = await phase({ flood: "404", limit: true, connections });
    byConnections[connections] = {
      p95_ratio_with_limit: ratio(limited, "p95_ms"),
      p50_ratio_with_limit: ratio(limited, "p50_ms"),
      p99_ratio_with_limit: ratio(limited, "p99_ms"),
      p95_ratio_without_limit: ratio(unlimited, "p95_ms"),
      p99_ratio_without_limit: ratio(unlimited, "p99_ms"),
      p95_ratio_404_reference: ratio(reference, "p95_ms"),
      flood_with_client_limit: limited,
      flood_without_rate_limit: unlimited,
      flood_of_404_reference: reference,
    };
  }
  await Deno.remove(dataDir, { recursive: true });
  await Deno.remove(lookupFile).catch(() => {});
  console.log(JSON.stringify(
    {
      flood: {
        victim_requests_per_phase: N,
        victim_rps: VICTIM_RPS,
        rate_limit: "defaults (50/s, burst 200)",
        target_p95_ratio: 3,
        baseline,
        by_flood_connections: byConnections,
      },
    },
    null,
    2,
  ));
}

if (Deno.args[0] === "--flooder") {
  await flooder(Deno.args[1]!, Deno.args[2]!, Number(Deno.args[3]), Deno.args[4]!);
} else {
  await main();
}
