import type { Middleware } from 'koa';
import type { Database } from '../db/database.js';
import type { AppKeyState } from './api-keys.js';
import { readPage } from './paging.js';

/** A voicemail as `GET /api/voicemails` shows it (provider-neutral, like the calls). */
export interface VoicemailView {
  id: string;
  tenant: string;
  provider: string;
  /** The provider's id of the call it was left on (`session_id` in `/api/calls`). */
  session_id: string;
  /** Beckon's id of that call, when it is stored. */
  call_id: string | null;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  /** The recording's link as the provider gave it; null until the provider sends one. */
  recording_url: string | null;
  transcription: string | null;
  /** When it was left, ISO 8601 in UTC. */
  timestamp: string;
}

interface VoicemailRow {
  id: number;
  tenant: string;
  provider: string;
  provider_call_id: string;
  call_id: number | null;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  recording_url: string | null;
  transcription: string | null;
  left_at: Date;
}

/** `GET /api/voicemails?limit=&offset=` or `?limit=&after=` → `{"voicemails":[…],"next"?}`: the app's voicemails, newest first. */
export function listVoicemailsRoute(db: Database): Middleware<AppKeyState> {
  return async function listVoicemails(ctx) {
    const { rows, next } = await readPage<VoicemailRow>(
      ctx,
      ctx.state.app.ids,
      'voicemails',
      'v',
      async ({ cursor, from, tail, params }) =>
        (
          await db.query<VoicemailRow & { cursor_at: string }>(
            `SELECT ${cursor}, v.id, v.tenant, v.provider, v.provider_call_id, v.call_id, v.from_number, v.from_name, v.to_number,
               v.recording_url, v.transcription, v.left_at
             FROM ${from} ${tail}`,
            params,
          )
        ).rows,
    );
    ctx.body = {
      voicemails: rows.map((row): VoicemailView => ({
        id: String(row.id),
        tenant: row.tenant,
        provider: row.provider,
        session_id: row.provider_call_id,
        call_id: row.call_id === null ? null : String(row.call_id),
        from_number: row.from_number,
        from_name: row.from_name,
        to_number: row.to_number,
        recording_url: row.recording_url,
        transcription: row.transcription,
        timestamp: row.left_at.toISOString(),
      })),
      ...(next ? { next } : {}),
    };
  };
}
