/** Helpers for the script benchmarks: spawn a server, wait for it, drive it with wrk, read the figures. */

export interface Spawned {
  readonly child: Deno.ChildProcess;
  readonly url: string;
  /** Milliseconds from spawn to the first 200 on `readyPath`. */
  readonly startMs: number;
  stop(): Promise<void>;
}

export function freePort(): number {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Spawns `deno <args>` with env and polls `readyPath` until it answers 200. */
export async function spawnServer(
  args: string[],
  env: Record<string, string>,
  readyPath = "/",
  timeoutMs = 60_000,
): Promise<Spawned> {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { ...env, PORT: String(port) },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      const r = await fetch(url + readyPath);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    const exited = await Promise.race([child.status.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 0))]);
    if (exited || performance.now() - t0 > timeoutMs) {
      if (!exited) child.kill();
      const err = await new Response(child.stderr).text();
      throw new Error(`server ${args.join(" ")} did not come up: ${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const startMs = performance.now() - t0;
  return {
    child,
    url,
    startMs,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.stderr.cancel().catch(() => {});
      await child.status;
    },
  };
}

export interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
}

function ms(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/** Runs wrk (Debian package `wrk`) with a header; throws when wrk is missing. */
export async function wrk(
  url: string,
  opts: { connections: number; seconds: number; threads?: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const args = ["-t", String(opts.threads ?? 2), "-c", String(opts.connections), "-d", `${opts.seconds}s`, "--latency"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const out = await new Deno.Command("wrk", { args: [...args, url], stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(text)?.[1] ?? "");
  const p99 = ms(/\s99%\s+(\S+)/.exec(text)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  return { rps, p50Ms: p50, p99Ms: p99, non2xx };
}

export function hasWrk(): boolean {
  try {
    new Deno.Command("wrk", { args: ["-v"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}
