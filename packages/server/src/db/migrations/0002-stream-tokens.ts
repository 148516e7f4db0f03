import type { Migration } from './index.js';

/**
 * Stream tokens (`POST /api/stream-tokens`): what a browser's `EventSource` shows `GET /api/call-stream`
 * instead of an app key. Stored as the SHA-256 of the token, never the token; each lives minutes and
 * goes with its app.
 */
export const migration: Migration = {
  version: 2,
  name: 'stream-tokens',
  sql: `
CREATE TABLE stream_tokens (
  hash       text PRIMARY KEY,
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL
);
-- Expired tokens are deleted as new ones are issued.
CREATE INDEX stream_tokens_expiry ON stream_tokens (expires_at);
`,
};
