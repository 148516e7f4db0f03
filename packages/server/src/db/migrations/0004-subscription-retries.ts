import type { Migration } from './index.js';

/**
 * Subscriptions that failed, or stayed `pending`, are tried again by the renewal loop
 * (`providers/netsapiens/subscribe.ts`). `retry_at` is when it next takes one up: after a failure,
 * 5 minutes doubling up to an hour (`failures` counts them, back to 0 on success); for a `pending`
 * one, when it counts as stuck. An `active` one needs none until a renewal fails. A `failed` or
 * `pending` row without one (written before this migration, or by an older instance during an upgrade)
 * is taken as due 5 minutes after its `updated_at`.
 */
export const migration: Migration = {
  version: 4,
  name: 'subscription-retries',
  sql: `
ALTER TABLE subscriptions ADD COLUMN retry_at timestamptz, ADD COLUMN failures integer NOT NULL DEFAULT 0;
`,
};
