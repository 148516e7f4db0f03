import type { Migration } from './index.js';

/**
 * Callbacks (docs/callbacks.md): every click-to-call, placed at once or booked for later, and each of
 * its statuses, in one table and its history. The visitor's number is kept in E.164 because it is
 * dialled; the cancel and status tokens only as their SHA-256. `placing` is the claim of one instance
 * (`locked_until` its lease): no other instance places that row meanwhile, and a lease that runs out
 * without an outcome is marked failed rather than placed twice.
 */
export const migration: Migration = {
  version: 7,
  name: 'callbacks',
  sql: `
CREATE TABLE callbacks (
  id                 uuid PRIMARY KEY,
  tenant             text NOT NULL,
  provider           text NOT NULL,
  phone_e164         text NOT NULL CONSTRAINT callbacks_phone_e164 CHECK (phone_e164 ~ '^[+][1-9][0-9]{1,14}$'),
  -- Null for a call placed at once.
  scheduled_at       timestamptz,
  status             text NOT NULL CONSTRAINT callbacks_status CHECK (status IN (
                       'scheduled', 'placing', 'queued', 'ringing', 'answered', 'ended', 'no-answer', 'failed', 'cancelled', 'missed')),
  cancel_token_hash  text,
  status_token_hash  text NOT NULL,
  token_expires_at   timestamptz NOT NULL,
  -- When the worker may next try to place it (the booked time, or a retry's).
  due_at             timestamptz,
  attempts           integer NOT NULL DEFAULT 0,
  locked_until       timestamptz,
  placed_at          timestamptz,
  -- The provider's call matched to it (docs/callbacks.md), and the last of that call's events applied.
  call_id            bigint REFERENCES calls (id) ON DELETE SET NULL,
  last_call_event_id bigint NOT NULL DEFAULT 0,
  -- The provider's own id of the call placed (Twilio's CallSid of the business leg): its status callbacks name it.
  provider_call_sid  text,
  last_error         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- One pending booking per number per id.
CREATE UNIQUE INDEX callbacks_one_pending ON callbacks (tenant, phone_e164) WHERE status IN ('scheduled', 'placing');
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE status IN ('scheduled', 'placing');
-- Placed callbacks still waiting for their call's outcome.
CREATE INDEX callbacks_live ON callbacks (tenant, phone_e164) WHERE status IN ('queued', 'ringing', 'answered');
-- A status callback finds its callback by the call's id; a provider never gives two calls one id.
CREATE UNIQUE INDEX callbacks_provider_call ON callbacks (provider, provider_call_sid) WHERE provider_call_sid IS NOT NULL;

-- Each status a callback took, in order: the live status stream replays these (its event ids).
CREATE TABLE callback_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  callback_id uuid NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
  status      text NOT NULL,
  at          timestamptz NOT NULL
);
CREATE INDEX callback_events_of ON callback_events (callback_id, id);
`,
};
