import { migration as callEvents } from './0001-call-events.js';
import { migration as streamTokens } from './0002-stream-tokens.js';
import { migration as eventWebhooks } from './0003-event-webhooks.js';
import { migration as subscriptionRetries } from './0004-subscription-retries.js';
import { migration as texts } from './0005-texts.js';
import { migration as dialpad } from './0006-dialpad.js';
import { migration as callbacks } from './0007-callbacks.js';

/**
 * One schema change, the same SQL for PostgreSQL and PGlite. Migrations are TypeScript modules so that
 * `tsc` ships them in dist/ with the rest; a released migration is never edited, a new one is added.
 */
export interface Migration {
  /** 1, 2, 3… in the order they apply; recorded in `schema_migrations`. */
  version: number;
  /** The file's name after its number, recorded with the version. */
  name: string;
  /** Statements without parameters, run in one transaction (so nothing like `CREATE INDEX CONCURRENTLY`). */
  sql: string;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [callEvents, streamTokens, eventWebhooks, subscriptionRetries, texts, dialpad, callbacks];
