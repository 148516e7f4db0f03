import type { NsClient } from '@beckon/ns-client';
import type { Logger } from 'pino';
import type { BackgroundTasks } from './background.js';
import type { ServerConfig } from './config.js';
import type { Limits } from './guards/limits.js';
import type { TenantStore } from './tenants/store.js';

/** Everything the routes need, built once by `main` (or by a host app) and passed in: no globals. */
export interface ServerDeps {
  config: Pick<ServerConfig, 'updateSecret' | 'trustProxy' | 'provisionEmail'> & {
    /** Where the public reaches this server (resolved: `PUBLIC_URL`, or the listening address). */
    publicUrl: string;
  };
  ns: Pick<NsClient, 'queuedCalls' | 'messages' | 'provisionWebresponder'>;
  tenants: TenantStore;
  limits: Limits;
  logger: Logger;
  background: BackgroundTasks;
}
