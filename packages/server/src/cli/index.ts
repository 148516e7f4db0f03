import { randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startNsSandbox, type NsSandbox } from '@beckon/ns-client/sandbox';
import { ConfigError, loadConfig, type ServerConfig } from '../config.js';
import { webresponderKey, webresponderSignature } from '../guards/secrets.js';
import { demoRoutes, type DemoRoutes } from './demo/demo-routes.js';
import { exportConfig, importConfig } from './config-transfer.js';
import { start } from '../main.js';

const USAGE = `Usage: beckon-server [--demo] [--allow-remote]
       beckon-server import-config <file> [--replace]
       beckon-server export-config [file]

Serves Beckon's click-to-call, web-responder and config-form routes.
Configuration comes from the environment (and ./.env when present); see the server README.

  import-config   Copy a domains.json into Redis (REDIS_URL), all or nothing; running instances
                  reload at once. --replace also removes ids the file does not have.
  export-config   Write Redis's per-id configs as a domains.json to the file, or to stdout.

  --demo          When no NetSapiens settings (NS_API_BASE, NS_TOKEN) are given, run against an
                  embedded NetSapiens sandbox with a demo config in ./data and secrets made for the run.
  --allow-remote  Let demo mode listen on a non-loopback HOST.
  -h, --help      Show this help.
  -v, --version   Show the version.
`;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The `beckon-server` command: read the environment once, start, stop gracefully on SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean' },
        'allow-remote': { type: 'boolean' },
        replace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`beckon-server ${version}\n`);
    return;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const [command, ...rest] = positionals;
  if (command !== undefined) {
    await runCommand(command, rest, values.replace ?? false);
    return;
  }

  const nsConfigured = Boolean(process.env.NS_API_BASE || process.env.NS_TOKEN);
  let sandbox: NsSandbox | undefined;
  let config: ServerConfig;
  try {
    if (values.demo && !nsConfigured) {
      sandbox = await startNsSandbox();
      config = await demoConfig(sandbox, values['allow-remote'] ?? false);
    } else {
      config = loadConfig(process.env);
    }
  } catch (error) {
    await sandbox?.close();
    if (error instanceof ConfigError) return cannotStart(error.message);
    throw error;
  }

  let listening: string | undefined;
  const signature = (id: string) => webresponderSignature(webresponderKey(config), id);
  const demo: DemoRoutes | undefined = sandbox ? demoRoutes(sandbox, { updateSecret: config.updateSecret, serverUrl: () => listening, signature }) : undefined;
  let running;
  try {
    running = await start({ config, routers: demo ? [demo.router] : [] });
  } catch (error) {
    demo?.close();
    await sandbox?.close();
    // Whatever stops start-up (Redis, the config folder, a setting the client refuses) is said plainly.
    return cannotStart(error instanceof Error ? error.message : String(error));
  }
  listening = running.url;
  if (sandbox) printDemoBanner(running.url, running.deps.config.publicUrl, sandbox, config, !process.env.UPDATE_SECRET);

  const stop = async (signal: string) => {
    running.deps.logger.info({ signal }, 'shutting down');
    demo?.close();
    await running.close();
    await sandbox?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function cannotStart(reason: string): void {
  process.stderr.write(`beckon-server cannot start.\n${reason}\n`);
  process.exitCode = 1;
}

async function runCommand(command: string, args: string[], replace: boolean): Promise<void> {
  try {
    if (command === 'import-config' && args.length === 1) {
      const count = await importConfig(args[0]!, { replace });
      process.stdout.write(`Imported ${count} ${count === 1 ? 'id' : 'ids'} into Redis${replace ? ' (other ids removed)' : ''}.\n`);
    } else if (command === 'export-config' && args.length <= 1) {
      const text = await exportConfig(args[0]);
      if (args[0] === undefined) process.stdout.write(text);
    } else {
      process.stderr.write(USAGE);
      process.exitCode = 2;
    }
  } catch (error) {
    process.stderr.write(`beckon-server ${command} failed.\n${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function demoConfig(sandbox: NsSandbox, allowRemote: boolean): Promise<ServerConfig> {
  const dataDir = resolve(process.env.BECKON_DATA_DIR || 'data');
  const domainsFile = join(dataDir, 'domains.json');
  if (!existsSync(domainsFile)) {
    await mkdir(dataDir, { recursive: true });
    await copyFile(new URL('../../domains.example.json', import.meta.url), domainsFile);
  }
  const config = loadConfig({
    ...process.env,
    NS_API_BASE: sandbox.url,
    NS_TOKEN: sandbox.token,
    UPDATE_SECRET: process.env.UPDATE_SECRET || randomBytes(24).toString('base64url'),
    DOMAINS_FILE: process.env.DOMAINS_FILE || domainsFile,
  });
  if (!LOOPBACK.has(config.host) && !allowRemote) {
    throw new ConfigError([`demo mode listens on loopback only; HOST=${config.host} needs --allow-remote`]);
  }
  return config;
}

function printDemoBanner(url: string, publicUrl: string, sandbox: NsSandbox, config: ServerConfig, secretMadeHere: boolean): void {
  // A secret from the environment or .env may be a real one: it is not printed.
  const secret = secretMadeHere ? `${config.updateSecret}  (made for this run)` : '(from UPDATE_SECRET)';
  process.stdout.write(`
  Beckon demo — no NetSapiens account needed
  ──────────────────────────────────────────
  Demo page         ${url}/
  Script-tag embed  <script src="${publicUrl}/widget.js?id=example.com-sales"></script>
  NS sandbox        ${sandbox.url}  (what it received: ${sandbox.url}/_sandbox/state)
  Config file       ${config.domainsFile}
  Forms secret      ${secret}

  To use a real NetSapiens cluster, set NS_API_BASE, NS_TOKEN and UPDATE_SECRET
  (in the environment or ./.env) and run beckon-server without --demo.

`);
}
