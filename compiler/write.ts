/** Write stage: puts generated files on disk, or (check mode) reports how the disk differs. */
import { GENERATED_DIR } from "./emit.ts";

/** Generated files another step writes (runtime/openapi_main.ts, after the compiler): never stale here. */
const WRITTEN_ELSEWHERE = new Set([`${GENERATED_DIR}/openapi.json`]);

async function listGenerated(root: string): Promise<Set<string>> {
  const found = new Set<string>();
  async function walk(dir: string, rel: string): Promise<void> {
    try {
      for await (const e of Deno.readDir(dir)) {
        const r = `${rel}/${e.name}`;
        if (e.isDirectory) await walk(`${dir}/${e.name}`, r);
        else found.add(r);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await walk(`${root}/${GENERATED_DIR}`, GENERATED_DIR);
  return found;
}

/** Paths (relative to root) whose content differs from `files`, plus stale extra files. */
export async function diffGenerated(root: string, files: ReadonlyMap<string, string>): Promise<string[]> {
  const stale: string[] = [];
  for (const [rel, text] of files) {
    let current: string | undefined;
    try {
      current = await Deno.readTextFile(`${root}/${rel}`);
    } catch {
      current = undefined;
    }
    if (current !== text) stale.push(rel);
  }
  for (const rel of await listGenerated(root)) if (!files.has(rel) && !WRITTEN_ELSEWHERE.has(rel)) stale.push(rel);
  return stale.sort();
}

/** Writes changed files and removes generated files no config produces any more. Returns what changed. */
export async function writeGenerated(root: string, files: ReadonlyMap<string, string>): Promise<string[]> {
  const changed = await diffGenerated(root, files);
  for (const rel of changed) {
    const text = files.get(rel);
    if (text === undefined) {
      await Deno.remove(`${root}/${rel}`);
      continue;
    }
    await Deno.mkdir(`${root}/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${rel}`, text);
  }
  return changed;
}
