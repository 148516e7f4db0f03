// A throwaway PostgreSQL cluster for the call-events benchmark, as the tests' fixture starts one: Debian's
// server binaries (or PG_BIN), a temporary folder, a free loopback port, removed afterwards. Unlike the
// tests' cluster it keeps PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes):
// every answered delivery is on disk, as in production, so commits cost what they cost there.
// initdb and pg_ctl refuse root: as root they run as the `postgres` user, in a folder it may write.

import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serverRequire } from './lib.mjs';

const run = promisify(execFile);
const pg = serverRequire('pg');

/** The newest server installed under /usr/lib/postgresql (Debian's layout), or PG_BIN. */
function serverBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error(`no PostgreSQL server in ${root}: install Debian's postgresql package (apt-get install -y postgresql), or set PG_BIN`);
  return join(root, newest, 'bin');
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a cluster; `close()` stops it and removes its folder. `createDatabase(name)` gives a fresh
 * database's URL; `query(url, sql, params)` runs one statement on a connection of its own; `pids()` are
 * the server's processes now (postmaster and backends), for CPU accounting.
 */
export async function startPostgres() {
  const bin = serverBin();
  const dir = await mkdtemp(join(tmpdir(), 'beckon-bench-pg-'));
  await chmod(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (command) =>
    process.getuid?.() === 0 ? run('su', ['postgres', '-s', '/bin/sh', '-c', command]) : run('/bin/sh', ['-c', command]);
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir}`;
  await asPostgres(`${bin}/initdb -D ${data} -U postgres -A trust -E UTF8 --locale=C --no-instructions >/dev/null`);
  await asPostgres(`${bin}/pg_ctl -D ${data} -l ${join(dir, 'log')} -w -s -o '${options}' start`);
  // pg_ctl detaches the server: should this process die without close(), a watchdog stops the cluster
  // and removes its folder once this process is gone.
  const stopCommand = `${bin}/pg_ctl -D ${data} -w -s -m immediate stop`;
  const stopInShell = process.getuid?.() === 0 ? `su postgres -s /bin/sh -c '${stopCommand}'` : stopCommand;
  spawn('/bin/sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopInShell} >/dev/null 2>&1; rm -rf ${dir}`], {
    detached: true,
    stdio: 'ignore',
  }).unref();

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const version = (await query(url, 'SHOW server_version')).rows[0].server_version;
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let closed = false;
  return {
    url,
    version,
    async createDatabase(name) {
      await query(url, `CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    query,
    /** A connection of its own to `url`, to keep (end() it). */
    async connect(databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    },
    /** The postmaster and its children (backends, WAL writer, checkpointer…) now. */
    pids() {
      const pids = [postmaster];
      for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(pid));
        } catch {
          // Gone between the listing and the read.
        }
      }
      return pids;
    },
    async close() {
      if (closed) return;
      closed = true;
      await asPostgres(`${bin}/pg_ctl -D ${data} -w -s -m fast stop`).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One statement on a connection of its own. */
async function query(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}
