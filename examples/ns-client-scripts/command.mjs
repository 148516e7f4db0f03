// What the three scripts share: flags (with --help), the required ones, credentials from the environment
// only (flags end up in shell history and `ps`), and errors printed as one line without a credential.
import { parseArgs } from 'node:util';
import { createNsClient, NsError } from '@beckon/ns-client';

/**
 * Runs a script: `run(values, ns)` gets the parsed flags and a client for NS_API_BASE / NS_TOKEN and
 * returns the exit code. Help is 0; a usage error or an NsError (its message names the request and
 * NetSapiens' answer, never a token) is 1. Sets `process.exitCode` rather than calling `process.exit()`,
 * so the process ends once its output is written.
 * @param {{ name: string, usage: string, options: import('node:util').ParseArgsConfig['options'], required: string[] }} spec
 * @param {(values: Record<string, string | undefined>, ns: import('@beckon/ns-client').NsClient) => Promise<number>} run
 */
export async function runCommand({ name, usage, options, required }, run) {
  process.exitCode = await (async () => {
    const usageError = (message) => {
      console.error(`${name}: ${message}\nRun with --help for usage.`);
      return 1;
    };
    let values;
    try {
      // Strict: an unknown flag or a stray argument is a usage error, not silently ignored.
      ({ values } = parseArgs({
        args: process.argv.slice(2),
        options: { ...options, help: { type: 'boolean', short: 'h' } },
        strict: true,
      }));
    } catch (error) {
      return usageError(error.message);
    }
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const missing = required.filter((flag) => !values[flag]?.trim());
    if (missing.length > 0) return usageError(`missing ${missing.map((flag) => `--${flag}`).join(', ')}`);
    const { NS_API_BASE, NS_TOKEN } = process.env;
    if (!NS_API_BASE || !NS_TOKEN) return usageError('set NS_API_BASE and NS_TOKEN in the environment');
    try {
      return await run(values, createNsClient({ baseUrl: NS_API_BASE, auth: { token: NS_TOKEN } }));
    } catch (error) {
      if (!(error instanceof NsError)) throw error;
      console.error(`${name}: ${error.message}`);
      return 1;
    }
  })();
}
