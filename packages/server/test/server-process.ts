// Real `beckon-server` processes (the package's bin, which runs the build in dist/), for the durability
// and shutdown tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const packageDir = new URL('..', import.meta.url).pathname;
export const BIN = join(packageDir, 'bin/beckon-server.js');

/** The bin runs dist/: when a source file is newer than its build, the processes would run old code. */
export function staleBuild(): string | undefined {
  const src = join(packageDir, 'src');
  // tsc -b rewrites only outputs whose content changed, but always records its run in the build info.
  const buildInfo = join(packageDir, 'tsconfig.tsbuildinfo');
  let builtAt: number;
  try {
    builtAt = statSync(buildInfo).mtimeMs;
  } catch {
    return 'the server is not built: run `npx tsc -b` at the repository root first';
  }
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  for (const file of walk(src).filter((name) => name.endsWith('.ts'))) {
    if (statSync(file).mtimeMs > builtAt + 1_000)
      return `${relative(packageDir, file)} is newer than its build: run \`npx tsc -b\` at the repository root first`;
  }
  return undefined;
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** The JSON log lines written so far. */
  logs: LogLine[];
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it if it is still running (teardown). */
  kill(): void;
}

/**
 * Starts `beckon-server` with only the given environment (and PATH), in `cwd`, and waits until it listens
 * — up to a minute: under the whole suite's load a start (migrations included) has taken over 15 s, and
 * the failure this guards against is never listening.
 */
export function startServerProcess(env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN], { cwd, env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env } });
  const logs: LogLine[] = [];
  let stderr = '';
  let pending = '';
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`beckon-server did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const parsed = JSON.parse(line) as LogLine;
        logs.push(parsed);
        if (parsed.msg === 'beckon-server listening') {
          clearTimeout(timer);
          resolve({
            url: String(parsed.url),
            child,
            logs,
            stderr: () => stderr,
            exited,
            kill: () => {
              if (running) child.kill('SIGKILL');
            },
          });
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`beckon-server exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
}
