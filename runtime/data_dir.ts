/**
 * DATA_DIR holds the root key, the KEK, the warehouse and the tenants' billing exports: only the service's user
 * may read it. Start-up sets the process umask to 077 (files 0600, folders 0700 from then on, DuckDB's WAL
 * included) where the permissions allow it, creates `imports/`, and tightens whatever already exists under
 * DATA_DIR (an install from before, files an operator copied in). The warehouse also tightens its own files
 * explicitly (`src/warehouse/duckdb.ts`), for processes that may not set the umask.
 */
import process from "node:process";
import { join } from "node:path";

/** Folders and files below DATA_DIR visited at most when tightening (an imports/ tree can be large). */
const MAX_ENTRIES = 10_000;

/** What {@link secureDataDir} did: whether the umask is set, and the entries it had to tighten. */
export interface SecuredDataDir {
  readonly umaskSet: boolean;
  readonly tightened: number;
  /** Entries whose mode could not be changed (e.g. owned by another user). */
  readonly refused: string[];
}

/** Sets the umask (when allowed), creates DATA_DIR and `imports/` 0700 and tightens existing entries. */
export async function secureDataDir(dataDir: string): Promise<SecuredDataDir> {
  let umaskSet = false;
  try {
    process.umask(0o077);
    umaskSet = true;
  } catch { /* needs --allow-sys without a list; the Dockerfile sets the umask in its entry point instead */ }
  await Deno.mkdir(join(dataDir, "imports"), { recursive: true, mode: 0o700 });
  let tightened = 0;
  const refused: string[] = [];
  let seen = 0;
  const tighten = async (path: string, isDir: boolean) => {
    const want = isDir ? 0o700 : 0o600;
    const info = await Deno.lstat(path);
    if (info.isSymlink || info.mode === null || (info.mode & 0o777 & ~want) === 0) return;
    try {
      await Deno.chmod(path, (info.mode & 0o777) & want);
      tightened++;
    } catch {
      refused.push(path);
    }
  };
  const walk = async (dir: string): Promise<void> => {
    await tighten(dir, true);
    for await (const e of Deno.readDir(dir)) {
      if (++seen > MAX_ENTRIES) return;
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile) await tighten(path, false);
    }
  };
  await walk(dataDir);
  return { umaskSet, tightened, refused };
}
