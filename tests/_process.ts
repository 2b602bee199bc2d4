/** Spawning the real server (or any deno script) as a child process, for end-to-end tests and benchmarks. */

export interface Spawned {
  readonly child: Deno.ChildProcess;
  readonly url: string;
  /** Milliseconds from spawn to the first 200 on `readyPath`. */
  readonly startMs: number;
  stop(signal?: Deno.Signal): Promise<void>;
}

export function freePort(): number {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The permission flags of `deno task start`, read from deno.json so tests and benches run what users run. */
export function startPermissions(): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const task: string = deno.tasks.start;
  const run = task.slice(task.lastIndexOf("deno run "));
  return run.split(/\s+/).filter((a) => a.startsWith("--allow-"));
}

/** Spawns `deno <args>` with `env` (plus PORT) and polls `readyPath` until it answers 200. */
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
    env: { ...env, PORT: String(port), NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.status.then(() => (exited = true));
  for (;;) {
    try {
      const r = await fetch(url + readyPath);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    if (exited || performance.now() - t0 > timeoutMs) {
      if (!exited) child.kill();
      const err = await new Response(child.stderr).text();
      throw new Error(`deno ${args.join(" ")} did not come up: ${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const startMs = performance.now() - t0;
  return {
    child,
    url,
    startMs,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch { /* gone */ }
      }
      await child.stderr.cancel().catch(() => {});
      await child.status;
    },
  };
}
