// An empty embedded database (PGlite) made once per machine and copied into each test's DATA_DIR: a fresh
// folder costs PGlite ~3 s of CPU and ~800 MB to initialise, a copy opens in a fraction of that. Test
// processes starting together wait for the first one to make it. Kept under node_modules/.cache, per
// PGlite version.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const version = JSON.parse(
  readFileSync(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '../package.json'), 'utf8'),
).version;
const template = join(root, 'node_modules/.cache/beckon-tests', `pglite-${version}`);

/** Copies an empty, initialised PGlite database into `dir` (the server's `DATA_DIR/pglite`). */
export async function copyEmptyPglite(dir) {
  await cp(await emptyPglite(), dir, { recursive: true });
}

async function emptyPglite() {
  // Complete once it exists: it is made aside and renamed into place.
  if (existsSync(template)) return template;
  await mkdir(dirname(template), { recursive: true });
  const lock = `${template}.lock`;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      if (existsSync(template)) return template;
      const holder = holderOf(lock);
      if (holder && !alive(holder)) await rm(lock, { force: true });
      await sleep(100);
    }
  }
  try {
    if (existsSync(template)) return template;
    const making = `${template}.${process.pid}`;
    await rm(making, { recursive: true, force: true });
    const db = await PGlite.create(making);
    await db.close();
    await rename(making, template);
    return template;
  } finally {
    await rm(lock, { force: true });
  }
}

function holderOf(lock) {
  try {
    return Number(readFileSync(lock, 'utf8'));
  } catch {
    return 0; // gone already
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code !== 'ESRCH';
  }
}
