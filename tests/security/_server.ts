/**
 * The product as a real process: the permission flags of `deno task start` (read from deno.json) and of the
 * Dockerfile's CMD, and a spawner that waits for the "listening" log line (PORT=0) or for the process to exit.
 */

const ROOT_DIR = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

export interface RunCommand {
  /** Every `--allow-*`/`-A`-style flag, in order. */
  readonly flags: string[];
  /** The entry point (e.g. runtime/main.ts). */
  readonly entry: string;
}

/** The `deno run` part of a deno.json task (a task may chain `deno task compile && deno run ...`). */
export async function taskRunCommand(task: string): Promise<RunCommand> {
  const cfg = JSON.parse(await Deno.readTextFile(`${ROOT_DIR}/deno.json`));
  const text: string | undefined = cfg.tasks?.[task];
  if (!text) throw new Error(`deno.json has no task "${task}"`);
  const run = text.split("&&").map((s) => s.trim()).find((s) => /^deno run\b/.test(s));
  if (!run) throw new Error(`task "${task}" runs no "deno run": ${text}`);
  const tokens = run.split(/\s+/).slice(2);
  return { flags: tokens.filter((t) => t.startsWith("-")), entry: tokens.filter((t) => !t.startsWith("-")).at(-1)! };
}

/** The Dockerfile's CMD ["run", flags..., entry] (exec form). */
export async function dockerRunCommand(): Promise<RunCommand & { env: Record<string, string> }> {
  const text = await Deno.readTextFile(`${ROOT_DIR}/Dockerfile`);
  const cmd = /^CMD\s+(\[[\s\S]*?\])\s*$/m.exec(text.replace(/\\\n/g, " "));
  if (!cmd) throw new Error("Dockerfile has no exec-form CMD");
  const args: string[] = JSON.parse(cmd[1]!);
  if (args[0] !== "run") throw new Error(`Dockerfile CMD does not start with "run": ${cmd[1]}`);
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const [k, ...v] = pair.split("=");
      if (k && v.length) env[k] = v.join("=");
    }
  }
  return { flags: args.slice(1).filter((a) => a.startsWith("-")), entry: args.at(-1)!, env };
}

export interface SpawnedServer {
  /** `http://127.0.0.1:PORT` once listening; undefined when the process exited first. */
  readonly url: string | undefined;
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  /** Everything printed so far (stdout and stderr), and the exit status once it ended. */
  output(): string;
  /** Waits for the exit (bounded); kills it with SIGKILL after `ms`. */
  exited(ms?: number): Promise<Deno.CommandStatus>;
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno run <flags> <entry>` in the repository (optionally through a wrapper such as `unshare -m sh -c`)
 * and waits up to `readyMs` for the "listening" line or the exit.
 */
export async function spawnServer(opts: {
  flags: readonly string[];
  entry?: string;
  env: Record<string, string>;
  /** Runs `sh -c <script>` under this command (e.g. ["unshare", "-m"]); the script gets $DENO and $DENO_ARGS. */
  wrap?: { command: readonly string[]; script: string };
  readyMs?: number;
}): Promise<SpawnedServer> {
  const denoArgs = ["run", ...opts.flags, opts.entry ?? "runtime/main.ts"];
  const env = { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...opts.env };
  const command = opts.wrap
    ? new Deno.Command(opts.wrap.command[0]!, {
      args: [
        ...opts.wrap.command.slice(1),
        "sh",
        "-c",
        `${opts.wrap.script}\nexec "$DENO" ${denoArgs.map(shq).join(" ")}`,
      ],
      env: { ...env, DENO: Deno.execPath() },
      cwd: ROOT_DIR,
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
    })
    : new Deno.Command(Deno.execPath(), {
      args: denoArgs,
      env,
      cwd: ROOT_DIR,
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
    });
  const child = command.spawn();
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) out += chunk;
  };
  const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let status: Deno.CommandStatus | undefined;
  const ended = child.status.then(async (s) => {
    status = s;
    await pumping;
    return s;
  });
  const deadline = Date.now() + (opts.readyMs ?? 30_000);
  let url: string | undefined;
  while (!url && !status && Date.now() < deadline) {
    url = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(out)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 25));
  }
  const exited = async (ms = 15_000) => {
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, ms);
    try {
      return await ended;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    url,
    pid: child.pid,
    child,
    output: () => out,
    exited,
    async stop() {
      if (!status) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
      }
      return await exited(10_000);
    },
  };
}

function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Whether this process may make a private mount namespace (root, or a kernel allowing user namespaces). */
export async function canUnshareMounts(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("unshare", { args: ["-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"] })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}
