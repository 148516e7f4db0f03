import type { Migration } from './index.js';

/**
 * The outbox of outgoing call-event webhooks (`event_webhooks` of an id, `actions/event-webhooks.ts`):
 * one row per call event and receiver URL, written before anything is sent and kept until it was
 * delivered or given up, so deliveries survive restarts and are never doubled by two instances.
 * `event_webhook_cursor` holds the last call event turned into rows (one row, id 1).
 */
export const migration: Migration = {
  version: 3,
  name: 'event-webhooks',
  sql: `
CREATE TABLE event_webhook_cursor (
  id       integer PRIMARY KEY CONSTRAINT event_webhook_cursor_one CHECK (id = 1),
  event_id bigint NOT NULL
);
-- Events recorded before this version are not relayed: receivers start with what happens from now on.
INSERT INTO event_webhook_cursor (id, event_id) SELECT 1, coalesce(max(id), 0) FROM call_events;

CREATE TABLE event_webhook_deliveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant          text NOT NULL,
  url             text NOT NULL,
  event_id        bigint NOT NULL REFERENCES call_events (id) ON DELETE CASCADE,
  call_id         bigint NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until    timestamptz,
  delivered_at    timestamptz,
  failed_at       timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT event_webhook_deliveries_once UNIQUE (event_id, url)
);
CREATE INDEX event_webhook_deliveries_pending ON event_webhook_deliveries (next_attempt_at, id)
  WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX event_webhook_deliveries_order ON event_webhook_deliveries (call_id, url, event_id)
  WHERE delivered_at IS NULL AND failed_at IS NULL;
`,
};
