import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';

/** Another live process (or this one) holds the lock. */
export class FolderLockedError extends Error {
  override name = 'FolderLockedError';
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(pid === process.pid ? `${path} is already held by this process` : `${path} is held by process ${pid}`);
  }
}

/** Lock files this process holds: a second open in the same process is refused, not taken for stale. */
const held = new Set<string>();

/**
 * Takes `path` (a lock file: the holder's pid, then a random token) for as long as this process uses
 * what it guards, and resolves to the function that gives it back. Created exclusively, so of two
 * processes starting together one wins. A lock whose process is gone (a crash, a kill -9, a container
 * restart that reused the pid) is taken over: moved aside, and dropped only if what was moved is what was
 * judged stale — a taker that moved a faster one's fresh lock instead puts it back.
 */
export async function lockFolder(path: string): Promise<() => Promise<void>> {
  if (held.has(path)) throw new FolderLockedError(path, process.pid);
  const mine = `${process.pid}\n${randomBytes(12).toString('hex')}\n`;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      await writeFile(path, mine, { flag: 'wx', mode: 0o600 });
      held.add(path);
      return async () => {
        held.delete(path);
        if ((await readFile(path, 'utf8').catch(() => undefined)) === mine) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = await readFile(path, 'utf8').catch(() => undefined);
    if (seen === undefined) continue;
    const pid = Number(seen.split('\n', 1)[0]);
    // Our own pid in a lock this process does not hold: left by an earlier process that had the same pid.
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new FolderLockedError(path, pid);
    const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch {
      continue; // another taker moved it first
    }
    const moved = await readFile(aside, 'utf8').catch(() => undefined);
    // A faster taker's fresh lock was moved instead: put it back (unless yet another one exists by now).
    if (moved !== seen) await link(aside, path).catch(() => undefined);
    await rm(aside, { force: true });
  }
  throw new Error(`${path}: could not take the lock (it kept changing hands)`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
