import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { importCustomers as runImport } from '../src/cli/import-customers.js';
import { createLogger, openMigratedDatabase, type Engine } from '../src/index.js';
import { databaseFixture, ENGINES, type DatabaseSettings } from './fixtures/databases.js';

const fixture = databaseFixture(test);

const cli = new URL('./fixtures/cli.ts', import.meta.url).pathname;
const nodeArgs = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@beckon/source', cli];

const ID = 'example.com-sales';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command's environment: the database's settings, and a domains.json in its DATA_DIR. */
async function environment(settings: DatabaseSettings): Promise<Record<string, string>> {
  const domains = join(settings.dataDir, 'domains.json');
  await writeFile(
    domains,
    JSON.stringify({
      [ID]: { api_domain: 'example.com' },
      'example.co.uk-sales': { api_domain: 'example.co.uk', allowed_countries: ['GB'] },
    }),
  );
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: settings.dataDir, DOMAINS_FILE: domains };
  if (settings.databaseUrl) env.DATABASE_URL = settings.databaseUrl;
  return env;
}

/** `beckon-server import-customers` (from source), in the database's DATA_DIR. */
async function importCustomers(settings: DatabaseSettings, file: string, args: string[] = ['--id', ID]): Promise<Run> {
  const env = await environment(settings);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, 'import-customers', ...args, file], { cwd: settings.dataDir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': the output may still be arriving when the process has exited.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function stored(settings: DatabaseSettings) {
  const db = await openMigratedDatabase(settings, { logger: createLogger('silent') });
  try {
    const { rows } = await db.query<{
      tenant: string;
      external_id: string;
      name: string | null;
      email: string | null;
      phone_e164: string | null;
      url: string | null;
    }>('SELECT tenant, external_id, name, email, phone_e164, url FROM customers ORDER BY id');
    return rows;
  } finally {
    await db.close();
  }
}

/** A file in the DATA_DIR the fixture removes after the test. */
async function file(settings: DatabaseSettings, name: string, content: string): Promise<string> {
  const path = join(settings.dataDir, name);
  await writeFile(path, content);
  return path;
}

const CSV = [
  '\uFEFFexternal_id,Name,email,phone,url',
  'crm-1,"Lovelace, Ada",ada@example.com,(813) 555-1234,https://crm.example.com/1',
  'crm-2,"Grace ""Amazing"" Hopper",,+1 929 555 0199,',
  '"crm-3","Two',
  'lines, and a comma",alan@example.com,,"https://crm.example.com/3?tab=a,b"',
  '',
].join('\r\n');

for (const engine of ENGINES as Engine[]) {
  test(`CSV with a header row, quoted commas, quotes and line breaks; then the same again (${engine})`, async (t) => {
    const settings = await fixture.settings(t, engine);
    const csv = await file(settings, 'customers.csv', CSV);
    const first = await importCustomers(settings, csv);
    t.is(first.code, 0, first.stderr);
    t.is(first.stdout, `Upserted 3 customers for ${ID}: 3 new, 0 updated, 0 unchanged.\n`);
    t.deepEqual(await stored(settings), [
      {
        tenant: ID,
        external_id: 'crm-1',
        name: 'Lovelace, Ada',
        email: 'ada@example.com',
        phone_e164: '+18135551234',
        url: 'https://crm.example.com/1',
      },
      { tenant: ID, external_id: 'crm-2', name: 'Grace "Amazing" Hopper', email: null, phone_e164: '+19295550199', url: null },
      {
        tenant: ID,
        external_id: 'crm-3',
        name: 'Two\nlines, and a comma',
        email: 'alan@example.com',
        phone_e164: null,
        url: 'https://crm.example.com/3?tab=a,b',
      },
    ]);
    const again = await importCustomers(settings, csv);
    t.is(again.stdout, `Upserted 3 customers for ${ID}: 0 new, 0 updated, 3 unchanged.\n`);
  });

  test(`a JSON array, by its extension or by its content; updates by external_id (${engine})`, async (t) => {
    const settings = await fixture.settings(t, engine);
    const customers = [
      { external_id: 'crm-1', name: 'Ada', phone: '020 7946 0018' },
      { external_id: 42, name: 'Numeric id', phone: 442079460019 },
    ];
    const json = await file(settings, 'customers.json', JSON.stringify(customers));
    const first = await importCustomers(settings, json, ['--id', 'example.co.uk-sales']);
    t.is(first.code, 0, first.stderr);
    t.regex(first.stdout, /Upserted 2 customers for example.co.uk-sales: 2 new/);
    const bare = await file(settings, 'export', `  ${JSON.stringify([{ ...customers[0], name: 'Ada Lovelace' }])}`);
    const second = await importCustomers(settings, bare, ['--id', 'example.co.uk-sales']);
    t.is(second.stdout, 'Upserted 1 customer for example.co.uk-sales: 0 new, 1 updated, 0 unchanged.\n');
    t.deepEqual(
      (await stored(settings)).map((row) => [row.external_id, row.name, row.phone_e164]),
      [
        ['crm-1', 'Ada Lovelace', '+442079460018'],
        ['42', 'Numeric id', '+442079460019'],
      ],
    );
  });

  test(`one invalid row imports nothing, and says which (${engine})`, async (t) => {
    const settings = await fixture.settings(t, engine);
    const cases: [string, string, RegExp][] = [
      ['bad.csv', `${CSV}crm-4,Bad,not-an-email,,\r\n`, /bad\.csv: nothing imported\. row 4 \(line 6\), email: must be an e-mail address/],
      ['phone.csv', 'external_id,phone\ncrm-1,8135551234\ncrm-2,12\n', /row 2 \(line 3\), phone: is not a valid phone number/],
      ['columns.csv', 'external_id,phone_number\ncrm-1,8135551234\n', /row 1 \(line 2\): has unknown field\(s\) phone_number/],
      ['ragged.csv', 'external_id,name\ncrm-1,Ada,extra\n', /not valid CSV/],
      [
        'bad.json',
        JSON.stringify([{ external_id: 'a' }, { external_id: 'b', url: 'ftp://x' }]),
        /bad\.json: nothing imported\. \[1\]\.url: must be an http\(s\) URL/,
      ],
      ['object.json', JSON.stringify({ external_id: 'a' }), /customers must be a list/],
      ['broken.json', '[{"external_id": ', /not valid JSON/],
    ];
    const env = await environment(settings);
    // In this process (what the command runs), for speed; the command's own exit codes are checked below.
    for (const [name, content, message] of cases) {
      await t.throwsAsync(runImport(ID, await file(settings, name, content), env), { message }, name);
    }
    await t.throwsAsync(runImport('nobody.com-sales', await file(settings, 'ok.csv', CSV), env), {
      message: /No config has the id "nobody.com-sales"/,
    });
    const run = await importCustomers(settings, await file(settings, 'bad2.csv', 'external_id,email\ncrm-1,x\n'));
    t.is(run.code, 1);
    t.regex(run.stderr, /^beckon-server import-customers failed\.\n.*row 1 \(line 2\), email/);
    const noId = await importCustomers(settings, await file(settings, 'ok2.csv', CSV), []);
    t.is(noId.code, 2, 'without --id: the usage');
    t.regex(noId.stderr, /import-customers --id <id> <file>/);
    t.deepEqual(await stored(settings), []);
  });
}
