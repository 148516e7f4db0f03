import { exportConfig, importConfig } from './config-transfer.js';

/** `beckon-server import-config <file> [--replace]`. */
export async function importConfigCommand(file: string, replace: boolean): Promise<void> {
  await failsAs('import-config', async () => {
    const count = await importConfig(file, { replace });
    process.stdout.write(`Imported ${count} ${count === 1 ? 'id' : 'ids'} into Redis${replace ? ' (other ids removed)' : ''}.\n`);
  });
}

/** `beckon-server export-config [file]`: to the file, or to stdout. */
export async function exportConfigCommand(file: string | undefined): Promise<void> {
  await failsAs('export-config', async () => {
    const text = await exportConfig(file);
    if (file === undefined) process.stdout.write(text);
  });
}

async function failsAs(command: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    process.stderr.write(`beckon-server ${command} failed.\n${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
