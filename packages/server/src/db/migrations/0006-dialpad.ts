import type { Migration } from './index.js';

/**
 * Dialpad (issue 16): the webhooks and event subscriptions Beckon created at Dialpad, and two
 * provider-neutral tables its events fill — texts (`messages`) and voicemails — which `/api/messages`
 * and `/api/voicemails` read like `/api/calls`. A Dialpad delivery is stored in `deliveries` first and
 * normalized after the answer; `retry_at` is when a delivery whose normalization failed is tried again.
 */
export const migration: Migration = {
  version: 6,
  name: 'dialpad',
  sql: `
ALTER TABLE deliveries ADD COLUMN retry_at timestamptz;

-- A webhook Beckon asked Dialpad to create for an app: events through it belong to tenant. Its secret
-- verifies each delivery's HS256 signature, so it is kept sealed (AES-256-GCM, a key derived from
-- INTERNAL_API_SECRET), never in clear; secret_fingerprint (HMAC-SHA256 under another derived key) keeps
-- two webhooks from sharing one secret, which would make a delivery's webhook ambiguous.
CREATE TABLE dialpad_webhooks (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id             uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  tenant             text NOT NULL,
  -- Dialpad's id (int64, kept as text); null while Dialpad is being asked.
  dialpad_webhook_id text CONSTRAINT dialpad_webhooks_dialpad_id UNIQUE,
  hook_url           text NOT NULL,
  secret_sealed      text NOT NULL,
  secret_fingerprint text NOT NULL CONSTRAINT dialpad_webhooks_secret UNIQUE,
  status             text NOT NULL CONSTRAINT dialpad_webhooks_status CHECK (status IN ('pending', 'active', 'failed')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dialpad_webhooks_app ON dialpad_webhooks (app_id, id);

-- Call and SMS event subscriptions Dialpad created on one of those webhooks.
CREATE TABLE dialpad_subscriptions (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id              bigint NOT NULL REFERENCES dialpad_webhooks (id) ON DELETE CASCADE,
  kind                    text NOT NULL CONSTRAINT dialpad_subscriptions_kind CHECK (kind IN ('call', 'sms')),
  dialpad_subscription_id text NOT NULL,
  call_states             text[],
  sms_direction           text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dialpad_subscriptions_dialpad_id UNIQUE (kind, dialpad_subscription_id)
);
CREATE INDEX dialpad_subscriptions_webhook ON dialpad_subscriptions (webhook_id);

-- Texts sent and received on a tenant's lines, one row per provider message (status updates change it).
CREATE TABLE messages (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant              text NOT NULL,
  provider            text NOT NULL,
  provider_message_id text NOT NULL,
  direction           text NOT NULL CONSTRAINT messages_direction CHECK (direction IN ('inbound', 'outbound')),
  from_number         text,
  to_numbers          text[] NOT NULL DEFAULT '{}',
  -- Null when the provider did not include the text (Dialpad needs the message_content_export scope).
  body                text,
  status              text,
  sent_at             timestamptz NOT NULL,
  delivery_id         bigint REFERENCES deliveries (id) ON DELETE SET NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_provider_id UNIQUE (tenant, provider, provider_message_id)
);
CREATE INDEX messages_tenant_newest ON messages (tenant, created_at DESC, id DESC);
CREATE INDEX messages_newest ON messages (created_at DESC, id DESC);

-- Voicemails left on a tenant's lines, one per call; the recording and transcription may come later.
CREATE TABLE voicemails (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant           text NOT NULL,
  provider         text NOT NULL,
  provider_call_id text NOT NULL,
  call_id          bigint REFERENCES calls (id) ON DELETE SET NULL,
  from_number      text,
  from_name        text,
  to_number        text,
  recording_url    text,
  transcription    text,
  left_at          timestamptz NOT NULL,
  delivery_id      bigint REFERENCES deliveries (id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT voicemails_provider_call UNIQUE (tenant, provider, provider_call_id)
);
CREATE INDEX voicemails_tenant_newest ON voicemails (tenant, created_at DESC, id DESC);
CREATE INDEX voicemails_newest ON voicemails (created_at DESC, id DESC);
`,
};
