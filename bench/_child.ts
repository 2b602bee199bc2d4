/** Runs one benchmark side in its own process (so its peak RSS is its own) and returns the JSON of its last line. */

/**
 * Runs `script` (relative to bench/) with `deno run -A` and any `BENCH_CHILD_FLAGS`, and parses its last stdout line.
 * @throws {Error} with the tail of its stderr when it exits non-zero
 */
export async function child(script: string, args: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(Deno.env.get("BENCH_CHILD_FLAGS")?.split(" ").filter(Boolean) ?? []),
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) throw new Error(`${script} failed: ${new TextDecoder().decode(out.stderr).slice(-3000)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}
