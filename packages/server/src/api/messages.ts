import type { Middleware } from 'koa';
import type { Database } from '../db/database.js';
import type { AppKeyState } from './api-keys.js';
import { readPage } from './paging.js';

/**
 * A text as `GET /api/messages` shows it. Provider-neutral, like the calls: Dialpad's SMS events fill it
 * today; another provider's texts would read the same.
 */
export interface MessageView {
  id: string;
  tenant: string;
  provider: string;
  /** The provider's id of the message. */
  message_id: string;
  direction: 'inbound' | 'outbound';
  from_number: string | null;
  to_numbers: string[];
  /** Null when the provider did not include the text (Dialpad: the key lacks `message_content_export`). */
  text: string | null;
  /** The provider's delivery status, when it reports one. */
  status: string | null;
  /** When it was sent or received, ISO 8601 in UTC. */
  timestamp: string;
}

interface MessageRow {
  id: number;
  tenant: string;
  provider: string;
  provider_message_id: string;
  direction: MessageView['direction'];
  from_number: string | null;
  to_numbers: string[];
  body: string | null;
  status: string | null;
  sent_at: Date;
}

/** `GET /api/messages?limit=&offset=` or `?limit=&after=` → `{"messages":[…],"next"?}`: the app's texts, newest first (paged as `/api/calls`). */
export function listMessagesRoute(db: Database): Middleware<AppKeyState> {
  return async function listMessages(ctx) {
    const { rows, next } = await readPage<MessageRow>(
      ctx,
      ctx.state.app.ids,
      'messages',
      'm',
      async ({ cursor, from, tail, params }) =>
        (
          await db.query<MessageRow & { cursor_at: string }>(
            `SELECT ${cursor}, m.id, m.tenant, m.provider, m.provider_message_id, m.direction, m.from_number, m.to_numbers, m.body,
               m.status, m.sent_at
             FROM ${from} ${tail}`,
            params,
          )
        ).rows,
    );
    ctx.body = {
      messages: rows.map((row): MessageView => ({
        id: String(row.id),
        tenant: row.tenant,
        provider: row.provider,
        message_id: row.provider_message_id,
        direction: row.direction,
        from_number: row.from_number,
        to_numbers: row.to_numbers,
        text: row.body,
        status: row.status,
        timestamp: row.sent_at.toISOString(),
      })),
      ...(next ? { next } : {}),
    };
  };
}
