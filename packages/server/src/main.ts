import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportConfigCommand, importConfigCommand } from './cli/config-commands.js';
import { demo } from './cli/demo/demo.js';
import { importCustomersCommand } from './cli/import-customers.js';
import { migrateCommand } from './cli/migrate.js';
import { serve } from './cli/serve.js';

const USAGE = `Usage: beckon-server [--demo] [--allow-remote]
       beckon-server import-config <file> [--replace]
       beckon-server export-config [file]
       beckon-server migrate
       beckon-server import-customers --id <id> <file>

Serves Beckon's click-to-call, web-responder and config-form routes.
Configuration comes from the environment (and ./.env when present); see docs/configuration.md.

  import-config   Copy a domains.json into Redis (REDIS_URL), all or nothing; running instances
                  reload at once. --replace also removes ids the file does not have.
  export-config   Write Redis's per-id configs as a domains.json to the file, or to stdout.
  migrate         Bring the database (DATABASE_URL, or the embedded one in DATA_DIR) up to this
                  version's schema, then exit. The server also does it when it starts.
  import-customers
                  Upsert the id's customers by external_id from a CSV file (a header row:
                  external_id,name,email,phone,url) or a JSON array, all or nothing, straight into
                  the database (stop the server first with the embedded one).

  --demo          When no NetSapiens settings (NS_API_BASE, NS_TOKEN) are given, run against an
                  embedded NetSapiens sandbox with a demo config in ./data and secrets made for the run.
  --allow-remote  Let demo mode listen on a non-loopback HOST.
  -h, --help      Show this help.
  -v, --version   Show the version.
`;

/** The `beckon-server` command: reads the command line and `.env`, then hands over to one sub-command. */
export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean' },
        'allow-remote': { type: 'boolean' },
        replace: { type: 'boolean' },
        id: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(USAGE);
  if (values.version) return void process.stdout.write(`beckon-server ${version()}\n`);
  if (existsSync('.env')) process.loadEnvFile('.env');

  const [command, ...args] = positionals;
  if (command === 'import-config' && args.length === 1) return importConfigCommand(args[0]!, values.replace ?? false);
  if (command === 'export-config' && args.length <= 1) return exportConfigCommand(args[0]);
  if (command === 'migrate' && args.length === 0) return migrateCommand();
  if (command === 'import-customers' && args.length === 1 && values.id) return importCustomersCommand(values.id, args[0]!);
  if (command !== undefined) return usage(`Unknown command or arguments: ${positionals.join(' ')}`);
  // Demo mode only while no NetSapiens is configured: a real setting must never be ignored.
  if (values.demo && !process.env.NS_API_BASE && !process.env.NS_TOKEN) return demo({ allowRemote: values['allow-remote'] ?? false });
  return serve();
}

function usage(problem: string): void {
  process.stderr.write(`${problem}\n\n${USAGE}`);
  process.exitCode = 2;
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
