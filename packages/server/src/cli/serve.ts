import { ConfigError, deprecatedSettings, loadConfig, type ServerConfig } from '../config.js';
import { start, type RunningServer } from '../start.js';

/** `beckon-server`: the environment, validated once; then listen until SIGTERM or SIGINT. */
export async function serve(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) return cannotStart(error.message);
    throw error;
  }
  let running: RunningServer;
  try {
    running = await start({ config });
  } catch (error) {
    return cannotStart(error instanceof Error ? error.message : String(error));
  }
  warnDeprecated(running);
  stopOnSignals(running);
}

/** A setting read under its old name is logged once, at start. */
export function warnDeprecated(running: RunningServer): void {
  for (const message of deprecatedSettings(process.env)) running.deps.logger.warn(message);
}

/** Whatever stops start-up (a setting, Redis, the config folder) is said plainly, and the exit code is 1. */
export function cannotStart(reason: string): void {
  process.stderr.write(`beckon-server cannot start.\n${reason}\n`);
  process.exitCode = 1;
}

/** On SIGTERM or SIGINT: stop accepting, let requests and texts finish (`close`), run `after`, exit. */
export function stopOnSignals(running: RunningServer, after: () => Promise<void> | void = () => undefined): void {
  const stop = async (signal: string) => {
    running.deps.logger.info({ signal }, 'shutting down');
    await running.close();
    await after();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
