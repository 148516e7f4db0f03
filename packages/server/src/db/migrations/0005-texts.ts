import type { Migration } from './index.js';

/**
 * Texts Beckon sends through a provider's API (the Twilio missed-call text-back first): an outbox,
 * written in the same transaction as the event that calls for the text, so a text is never lost to a
 * restart nor sent twice for one reason (`dedupe_key`, e.g. the `CallSid`); and the numbers that asked
 * not to be texted (STOP), per sending number as carriers keep them.
 */
export const migration: Migration = {
  version: 5,
  name: 'texts',
  sql: `
CREATE TABLE texts (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant              text NOT NULL,
  provider            text NOT NULL,
  dedupe_key          text NOT NULL,
  to_number           text NOT NULL,
  from_number         text NOT NULL,
  body                text NOT NULL,
  attempts            integer NOT NULL DEFAULT 0,
  next_attempt_at     timestamptz NOT NULL DEFAULT now(),
  locked_until        timestamptz,
  sent_at             timestamptz,
  failed_at           timestamptz,
  provider_message_id text,
  last_error          text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT texts_once UNIQUE (provider, dedupe_key)
);
CREATE INDEX texts_pending ON texts (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX texts_recent ON texts (tenant, to_number, created_at DESC);
CREATE INDEX texts_tenant_recent ON texts (tenant, created_at DESC);

CREATE TABLE text_opt_outs (
  from_number text NOT NULL,
  to_number   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_number, to_number)
);
`,
};
