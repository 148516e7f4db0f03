import type { Migration } from './index.js';

/**
 * The call-events milestone's tables (docs/call-events.md). `tenant` is a config id (domains.json or
 * Redis): every row carries the one it belongs to, and reads are scoped by it. Ids are `bigint`
 * identities; `updated_at` is set by the code that changes a row (no triggers).
 */
export const migration: Migration = {
  version: 1,
  name: 'call-events',
  sql: `
-- Provider webhooks as received, stored (verified, deduplicated) before anything acts on them, so a
-- failed normalization is retried from the row. The dedupe key is the provider's own identity of the
-- delivery (event id, JWT hash, CallSid + status, orig_callid + state); it is unique per tenant too,
-- since two ids subscribed to one NetSapiens domain each receive the same call record.
CREATE TABLE deliveries (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider     text NOT NULL,
  tenant       text NOT NULL,
  dedupe_key   text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  body         jsonb NOT NULL,
  -- Set once normalized; until then a worker retries it (attempts counts them, error says the last failure).
  processed_at timestamptz,
  attempts     integer NOT NULL DEFAULT 0,
  error        text,
  CONSTRAINT deliveries_dedupe UNIQUE (provider, tenant, dedupe_key)
);
CREATE INDEX deliveries_unprocessed ON deliveries (id) WHERE processed_at IS NULL;

-- A tenant's customers, matched to callers by their number in E.164 (several may share one).
CREATE TABLE customers (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant      text NOT NULL,
  external_id text NOT NULL,
  name        text,
  email       text,
  phone_e164  text CONSTRAINT customers_phone_e164 CHECK (phone_e164 ~ '^[+][1-9][0-9]{1,14}$'),
  url         text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT customers_external_id UNIQUE (tenant, external_id)
);
CREATE INDEX customers_phone ON customers (tenant, phone_e164) WHERE phone_e164 IS NOT NULL;

-- One row per call, whatever the provider: redeliveries and several instances find the same row
-- through (tenant, provider, provider_call_id). The state only moves forward (ringing → answered →
-- ended, ringing → missed | voicemail); the code that changes it enforces that.
CREATE TABLE calls (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant           text NOT NULL,
  provider         text NOT NULL,
  provider_call_id text NOT NULL,
  direction        text NOT NULL CONSTRAINT calls_direction CHECK (direction IN ('inbound', 'outbound')),
  -- E.164 when the party is a phone number; an extension or SIP address as the provider gave it otherwise.
  from_number      text,
  from_name        text,
  to_number        text,
  state            text NOT NULL CONSTRAINT calls_state CHECK (state IN ('ringing', 'answered', 'missed', 'voicemail', 'ended')),
  started_at       timestamptz NOT NULL,
  answered_at      timestamptz,
  ended_at         timestamptz,
  customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
  -- When Beckon first stored the call: the listing order, which provider clocks cannot reshuffle.
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT calls_provider_call UNIQUE (tenant, provider, provider_call_id)
);
-- Newest first, paged by keyset (created_at, id): per tenant, and across all for apps that see every id.
CREATE INDEX calls_tenant_newest ON calls (tenant, created_at DESC, id DESC);
CREATE INDEX calls_newest ON calls (created_at DESC, id DESC);
-- Active calls: a small part of the table, kept small in the index too.
CREATE INDEX calls_active ON calls (tenant, created_at DESC, id DESC) WHERE state IN ('ringing', 'answered');
CREATE INDEX calls_customer ON calls (customer_id) WHERE customer_id IS NOT NULL;

-- Each change of a call. The id is the live stream's event id (SSE id:, Last-Event-ID replay), so it
-- only grows. An identity is handed out at insert, not at commit: writers that may run concurrently
-- must commit events in id order (for example by taking an advisory lock before inserting them), or
-- a replay from Last-Event-ID could skip one committed late.
CREATE TABLE call_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id     bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  tenant      text NOT NULL,
  -- The call's state after this change (a change may leave it as it was: a customer matched later).
  state       text NOT NULL CONSTRAINT call_events_state CHECK (state IN ('ringing', 'answered', 'missed', 'voicemail', 'ended')),
  -- When it happened, by the provider's clock when it gives one.
  at          timestamptz NOT NULL,
  delivery_id bigint REFERENCES deliveries (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_events_tenant ON call_events (tenant, id);
CREATE INDEX call_events_call ON call_events (call_id, id);
CREATE INDEX call_events_delivery ON call_events (delivery_id) WHERE delivery_id IS NOT NULL;

-- Programs that read calls with an API key. ids: the config ids the app may see; NULL: every id (an
-- empty list would be a second way to say "none", so it is refused).
CREATE TABLE apps (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CONSTRAINT apps_name CHECK (name <> ''),
  ids        text[] CONSTRAINT apps_ids CHECK (cardinality(ids) > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- An app's keys, found by the public key id in the key and checked against the hash of its secret
-- part (never stored). A rotated key gets expires_at = the grace period's end; at most two live keys
-- per app is enforced by the code that rotates.
CREATE TABLE api_keys (
  id         text PRIMARY KEY,
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  hash       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE INDEX api_keys_app ON api_keys (app_id, created_at DESC);

-- What Beckon asked a provider to send it, per tenant: one per tenant and provider (created, then
-- renewed in place). The secret in the webhook URL is stored only as a hash.
CREATE TABLE subscriptions (
  id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant                   text NOT NULL,
  provider                 text NOT NULL,
  provider_subscription_id text,
  secret_hash              text NOT NULL,
  status                   text NOT NULL,
  expires_at               timestamptz,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT subscriptions_tenant_provider UNIQUE (tenant, provider),
  CONSTRAINT subscriptions_provider_id UNIQUE (provider, provider_subscription_id)
);
`,
};
