/**
 * `deno task test`: runs the whole suite with `deno test` and ends with one plain line,
 * `N passed, N failed`, taken from Deno's own summary. Exits non-zero when anything failed.
 */
const args = ["test", "-A", "--no-check=remote", ...Deno.args];
const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit", env: { NO_COLOR: "1" } })
  .spawn();
let tail = "";
const decoder = new TextDecoder();
const writer = Deno.stdout.writable.getWriter();
for await (const chunk of child.stdout) {
  await writer.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
writer.releaseLock();
const { code } = await child.status;
// Deno's summary: "ok | 18 passed (5 steps) | 0 failed (2s)" or "FAILED | 3 passed | 1 failed".
const summary = [...tail.matchAll(/(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed/g)].pop();
const passed = summary ? Number(summary[1]) : 0;
const failed = summary ? Number(summary[2]) : 0;
const broken = code !== 0 && failed === 0 ? 1 : 0; // e.g. a type error before any test ran
console.log(`${passed} passed, ${failed + broken} failed`);
Deno.exit(code === 0 && failed === 0 ? 0 : 1);
