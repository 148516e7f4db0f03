import { randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../context.js';
import type { Database } from '../db/database.js';
import { BusClosedError, EventBus, type Subscriber } from '../events/bus.js';
import { isoUtc } from '../hours/open.js';
import { HttpError } from '../http-error.js';
import {
  CALLBACK_EVENTS_CHANNEL,
  CALLBACK_ID,
  FINAL_STATUSES,
  readCallbackEvents,
  readEventsOf,
  statusAccess,
  type CallbackEvent,
} from './store.js';

/** The process's bus of callback events: one per process, shared by every status stream (`createDeps` makes it). */
export type CallbackEventBus = EventBus<CallbackEvent>;

export function createCallbackEventBus(db: Database, logger: Logger): CallbackEventBus {
  return new EventBus<CallbackEvent>({
    db,
    channel: CALLBACK_EVENTS_CHANNEL,
    logger,
    read: (after, limit) => readCallbackEvents(db, after, limit),
    latest: async () => (await db.query<{ id: number | null }>('SELECT max(id) AS id FROM callback_events')).rows[0]?.id ?? 0,
  });
}

export const STATUS_HEARTBEAT_MS = 15_000;
/** Open streams per callback in this process: a page and a reconnection or two; a leaked token cannot hold hundreds. */
const MAX_STREAMS_PER_CALLBACK = 5;

/** `event: status` with its id: `data: {"status","at"}`. */
function frame(event: CallbackEvent): string {
  return `id: ${event.id}\nevent: status\ndata: ${JSON.stringify({ status: event.status, at: isoUtc(event.at) })}\n\n`;
}

/** One open status stream: sends its callback's events once each, in order, and ends after a final one. */
class StatusStream implements Subscriber<CallbackEvent> {
  cursor = 0;
  held: CallbackEvent[] | undefined = [];

  constructor(
    readonly res: ServerResponse,
    readonly callbackId: string,
  ) {}

  deliver(event: CallbackEvent): void {
    if (event.callbackId !== this.callbackId) return;
    if (this.held) this.held.push(event);
    else this.send(event);
  }

  send(event: CallbackEvent): void {
    if (event.id <= this.cursor || this.res.destroyed || this.res.writableEnded) return;
    this.cursor = event.id;
    this.res.write(frame(event));
    // Nothing follows a final status: the stream is done (an EventSource reconnecting gets it again, then the end).
    if (FINAL_STATUSES.has(event.status)) this.res.end();
  }

  goLive(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.send(event);
  }

  end(): void {
    this.res.end();
  }
}

const EVENT_ID = /^\d{1,15}$/;
/** The longest a Node timer waits (about 24.8 days); a token lasts a day past its call, so this never cuts one short. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `GET /click-to-call/:callback_id/events?token=<status_token>`: Server-Sent Events. `retry:` first; then
 * the callback's current status (fresh) or every status after `Last-Event-ID` / `?last_event_id=`
 * (reconnection), each as `id: <n>`, `event: status`, `data: {"status","at"}`; then each change as it
 * happens, on whichever instance it happens (the bus), a comment every 15 s, and the end after a final
 * status. An unknown callback is a 404, a wrong or expired token a 401, both before the stream starts.
 * Any origin may read it: the token is the credential.
 */
export function callbackStatusRoute(options: {
  db: Database;
  bus: CallbackEventBus;
  now?: () => Date;
  heartbeatMs?: number;
}): Middleware<AppState> {
  const { db, bus } = options;
  const now = options.now ?? (() => new Date());
  const heartbeatMs = options.heartbeatMs ?? STATUS_HEARTBEAT_MS;
  const open = new Set<StatusStream>();
  const perCallback = new Map<string, number>();
  let heartbeat: NodeJS.Timeout | undefined;

  const closed = (stream: StatusStream) => {
    bus.unsubscribe(stream);
    open.delete(stream);
    const left = (perCallback.get(stream.callbackId) ?? 1) - 1;
    if (left > 0) perCallback.set(stream.callbackId, left);
    else perCallback.delete(stream.callbackId);
    if (open.size === 0) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  };

  return async function callbackStatus(ctx) {
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cache-Control', 'no-store');
    const callbackId = ctx.params.callback_id ?? '';
    if (!CALLBACK_ID.test(callbackId)) throw new HttpError(404, 'There is no such callback.', { code: 'not_found' });
    const { token } = ctx.query;
    if (Array.isArray(token)) throw new HttpError(400, 'token is given more than once');
    if (!token) throw new HttpError(401, 'The status_token of this callback is required (?token=…).', { code: 'invalid_token' });
    const found = await statusAccess(db, callbackId, token, now());
    const { access } = found;
    if (access === 'unknown') throw new HttpError(404, 'There is no such callback.', { code: 'not_found' });
    if (access === 'refused') {
      throw new HttpError(401, 'This status token is wrong or has expired: use the status_token of the click-to-call answer.', {
        code: 'invalid_token',
      });
    }
    const lastEventId =
      ctx.get('Last-Event-ID').trim() || (typeof ctx.query.last_event_id === 'string' ? ctx.query.last_event_id.trim() : '');
    if (lastEventId && !EVENT_ID.test(lastEventId))
      throw new HttpError(400, 'Last-Event-ID (or last_event_id) must be the id of an event this stream sent');
    if ((perCallback.get(callbackId) ?? 0) >= MAX_STREAMS_PER_CALLBACK) {
      throw new HttpError(429, `This callback has ${MAX_STREAMS_PER_CALLBACK} status streams open already: close one.`, {
        headers: { 'Retry-After': '10' },
        code: 'too_many_streams',
      });
    }

    const { res } = ctx;
    const stream = new StatusStream(res, callbackId);
    let from: number;
    try {
      from = await bus.subscribe(stream);
    } catch (error) {
      if (error instanceof BusClosedError) {
        throw new HttpError(503, 'The server is shutting down; connect again in a moment', { headers: { 'Retry-After': '2' } });
      }
      throw error;
    }
    open.add(stream);
    perCallback.set(callbackId, (perCallback.get(callbackId) ?? 0) + 1);
    heartbeat ??= setInterval(() => {
      for (const each of open) if (!each.res.destroyed && !each.res.writableEnded) each.res.write(': heartbeat\n\n');
    }, heartbeatMs);
    // A stream lasts no longer than its token: a callback whose provider never reports (no subscription) would hold it for ever.
    const lifetime = setTimeout(
      () => stream.end(),
      Math.min(found.access === 'ok' ? found.expiresAt.getTime() - now().getTime() : 0, MAX_TIMER_MS),
    );
    res.once('close', () => {
      clearTimeout(lifetime);
      closed(stream);
    });

    ctx.status = 200;
    ctx.respond = false;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      'X-Accel-Buffering': 'no',
      'Access-Control-Allow-Origin': '*',
      Connection: 'keep-alive',
    });
    res.write(`retry: ${2_000 + randomInt(3_000)}\n\n`);
    try {
      // A callback has a handful of events: read them all, and send the client what it lacks.
      const events = await readEventsOf(db, callbackId, 0, from);
      const after = lastEventId ? Number(lastEventId) : undefined;
      // Fresh: the current status only. Resumed: everything after what the client saw.
      const replay = after === undefined ? events.slice(-1) : events.filter((event) => event.id > after);
      stream.cursor = after ?? 0;
      for (const event of replay) stream.send(event);
      // Resumed after the final status itself: nothing more will come.
      const latest = events.at(-1);
      if (latest && FINAL_STATUSES.has(latest.status)) res.end();
      stream.goLive();
    } catch (error) {
      ctx.state.log.warn({ err: error }, 'the callback status stream could not read from the database');
      res.destroy();
    }
  };
}
