import { randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../context.js';
import type { Database, Queryable, SqlValue } from '../db/database.js';
import { BusClosedError, EventBus, type Subscriber } from '../events/bus.js';
import { CALL_EVENTS_CHANNEL } from '../events/calls.js';
import { HttpError } from '../http-error.js';
import type { Metrics } from '../metrics/metrics.js';
import { ACTIVE_CALL, CALL_COLUMNS, CUSTOMER_JOIN, callView, type CallRow, type CallView } from './call-view.js';
import { appForStreamToken } from './stream-tokens.js';

/** A call event as the stream sends it: its id, the config id it belongs to, and its SSE frame, made once for every stream. */
export interface StreamEvent {
  id: number;
  tenant: string;
  frame: string;
}

/** The process's bus of call events for the live streams. */
export type CallEventBus = EventBus<StreamEvent>;

export const HEARTBEAT_MS = 15_000;
/** A stream ends after this long, so that none outlives what its token was for by more than that (its client reconnects with a new token). */
export const MAX_STREAM_MS = 60 * 60_000;
/** `MAX_STREAMS` and `MAX_STREAMS_PER_APP` unset. */
export const DEFAULT_MAX_STREAMS = 800;
export const DEFAULT_MAX_STREAMS_PER_APP = 100;
const REPLAY_PAGE = 500;
/** Calls in progress are few; this bounds a fresh stream's first frames should ended calls never have been reported. */
const MAX_ACTIVE_SNAPSHOT = 1_000;
/**
 * A stream whose client reads this far behind is closed rather than buffered without end: its client
 * reconnects with `Last-Event-ID` and catches up from the database.
 */
const MAX_BUFFERED_BYTES = 1 << 20;

interface EventRow extends CallRow {
  event_id: number;
  event_state: CallView['status'];
}

/**
 * The call events after `after` (and up to `upTo`), for the config ids in `ids` (null: every id), in id
 * order: each as its call is now, in the state that event left it in.
 */
export async function readCallEvents(
  db: Queryable,
  range: { after: number; upTo?: number | undefined; ids?: readonly string[] | null | undefined; limit: number },
): Promise<StreamEvent[]> {
  const params: SqlValue[] = [range.after];
  const where = ['e.id > $1'];
  if (range.upTo !== undefined) where.push(`e.id <= $${params.push(range.upTo)}`);
  if (range.ids) where.push(`e.tenant = ANY($${params.push(range.ids)}::text[])`);
  const { rows } = await db.query<EventRow>(
    `SELECT e.id AS event_id, e.state AS event_state, ${CALL_COLUMNS}
     FROM call_events e JOIN calls c ON c.id = e.call_id ${CUSTOMER_JOIN}
     WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT $${params.push(range.limit)}`,
    params,
  );
  return rows.map((row) => ({
    id: row.event_id,
    tenant: row.tenant,
    frame: `id: ${row.event_id}\n${callFrame(row)}`,
  }));
}

/** The `event: call` frame of a call as that event left it, without its `id:` line. */
function callFrame(row: EventRow): string {
  return `event: call\ndata: ${JSON.stringify({ type: 'call', call: { ...callView(row), status: row.event_state } })}\n\n`;
}

/**
 * What a fresh stream starts from: the calls in progress as of event `upTo` (a popup opened while the
 * phone rings shows that call), oldest change first, as `call` frames WITHOUT an `id:` line — they are
 * the state at the stream's start, not events of the log, so a client's `Last-Event-ID` stays the
 * `connected` event's and a reconnection replays nothing twice. A call that became active after `upTo`
 * arrives as a live event; one that ended after it is active here and its end follows live.
 */
export async function readActiveCallFrames(db: Queryable, range: { upTo: number; ids: readonly string[] | null }): Promise<string[]> {
  const params: SqlValue[] = [range.upTo, MAX_ACTIVE_SNAPSHOT];
  const { rows } = await db.query<EventRow>(
    `SELECT e.id AS event_id, e.state AS event_state, ${CALL_COLUMNS}
     FROM calls c
     JOIN LATERAL (SELECT id, state FROM call_events WHERE call_id = c.id AND id <= $1 ORDER BY id DESC LIMIT 1) e ON true
     ${CUSTOMER_JOIN}
     WHERE c.state IN ('ringing', 'answered') AND ${ACTIVE_CALL} AND e.state IN ('ringing', 'answered')
       ${range.ids ? `AND c.tenant = ANY($${params.push(range.ids)}::text[])` : ''}
     ORDER BY e.id DESC LIMIT $2`,
    params,
  );
  // The newest when there are more than the limit (the call ringing now matters most), sent oldest first.
  return rows.reverse().map(callFrame);
}

/** The bus the live streams share: one per process (`createDeps` makes it; closing it ends the streams). */
export function createCallEventBus(db: Database, logger: Logger): CallEventBus {
  return new EventBus<StreamEvent>({
    db,
    channel: CALL_EVENTS_CHANNEL,
    logger,
    read: (after, limit) => readCallEvents(db, { after, limit }),
    latest: async () => (await db.query<{ id: number | null }>('SELECT max(id) AS id FROM call_events')).rows[0]?.id ?? 0,
  });
}

/**
 * One open stream: what it may see, the last event id it sent, and — until its replay from the database
 * is done — the live events that arrived meanwhile. A few hundred bytes besides the connection itself.
 */
class OpenStream implements Subscriber<StreamEvent> {
  /** The id of the last event sent: nothing at or below it is sent again. */
  cursor = 0;
  /** Live events held while replaying; undefined once live. */
  held: StreamEvent[] | undefined = [];

  constructor(
    readonly res: ServerResponse,
    /** The app whose token opened it: a deleted app's streams are closed. */
    readonly appId: string,
    private readonly ids: readonly string[] | null,
  ) {}

  deliver(event: StreamEvent): void {
    if (this.ids && !this.ids.includes(event.tenant)) return;
    if (this.held) this.held.push(event);
    else this.send(event);
  }

  send(event: StreamEvent): void {
    if (event.id <= this.cursor) return;
    this.cursor = event.id;
    this.write(event.frame);
  }

  /** Sends what was held during the replay, and from now on every event as it comes. */
  goLive(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.send(event);
  }

  /** Live: a client this far behind is cut off rather than buffered (the bus must not wait for it). */
  write(text: string): void {
    // Ended by the shutdown while a replay still reads, or gone: writing would be an error.
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.write(text);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.res.destroy();
  }

  /**
   * Before going live (the calls in progress, the replay): waits for the client to take what was
   * written, however far back it resumes. Cutting it off here would make it reconnect from the same
   * place, and never catch up.
   */
  async writeAndWait(text: string): Promise<void> {
    if (this.res.destroyed || this.res.writableEnded) return;
    if (this.res.write(text)) return;
    // Listeners of our own, removed once either fires (`events.once` in a race would leave the loser's behind, one pair per wait).
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done).off('close', done);
        resolve();
      };
      this.res.on('drain', done).on('close', done);
    });
  }

  /** `writeAndWait` for a replayed event, skipping what was already sent. */
  async replay(event: StreamEvent): Promise<void> {
    if (event.id <= this.cursor) return;
    this.cursor = event.id;
    await this.writeAndWait(event.frame);
  }

  end(): void {
    this.res.end();
  }
}

const EVENT_ID = /^\d{1,15}$/;

/** Where to resume: the `Last-Event-ID` header (an `EventSource` reconnecting sends it), else `?last_event_id=`. */
function resumeAfter(header: string, query: unknown): number | undefined {
  if (Array.isArray(query)) throw new HttpError(400, 'last_event_id is given more than once');
  const value = header.trim() || (typeof query === 'string' ? query.trim() : '');
  if (!value) return undefined;
  if (!EVENT_ID.test(value)) throw new HttpError(400, 'Last-Event-ID (or last_event_id) must be the id of an event this stream sent');
  return Number(value);
}

export interface CallStreamOptions {
  db: Database;
  bus: CallEventBus;
  /** How often an idle stream gets a comment, so proxies and browsers keep it open. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Open streams at most in this process (`MAX_STREAMS`, default 800), kept under `MAX_CONNECTIONS`, so
   * that streams can never take the connections NetSapiens' webhooks and the other routes need.
   */
  maxStreams?: number | undefined;
  /** Open streams at most per app in this process (`MAX_STREAMS_PER_APP`, default 100): one leaked token cannot take them all. */
  maxStreamsPerApp?: number | undefined;
  /** How long a stream lasts at most (default an hour). */
  maxStreamMs?: number;
  /** Counts the open streams (`beckon_streams_connected`). */
  metrics?: Pick<Metrics, 'streamsChanged'> | undefined;
}

/**
 * `GET /api/call-stream?token=…`: Server-Sent Events. `retry:` and `event: connected` first; then, on a
 * fresh connection, the app's calls in progress (`readActiveCallFrames`), or, on a reconnection, the
 * app's call events after `Last-Event-ID` (or `?last_event_id=`) from the database; then each new one
 * as the bus hands it over — `id:` the call event id, `event: call`, `data: {"type":"call","call":{…}}` —
 * and a comment every 15 s. A wrong, expired or missing token is a 401 (JSON) before the stream starts.
 * Any origin may read it: the token is the credential, and no cookie is involved.
 */
export function callStreamRoute(options: CallStreamOptions): Middleware<AppState> {
  const { db, bus } = options;
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  const maxStreamsPerApp = options.maxStreamsPerApp ?? DEFAULT_MAX_STREAMS_PER_APP;
  const maxStreamMs = options.maxStreamMs ?? MAX_STREAM_MS;
  const open = new Set<OpenStream>();
  /** Open streams by app, for `maxStreamsPerApp`. */
  const perApp = new Map<string, number>();
  // One timer for every stream of this route, running while any is open.
  let heartbeat: NodeJS.Timeout | undefined;
  let checking = false;
  /**
   * Ends the streams of apps deleted since they opened (`DELETE /internal/apps/:id`, on any instance):
   * one query per heartbeat for all of this process's streams. A failed check is tried at the next one.
   */
  const closeDeletedApps = async () => {
    if (checking || open.size === 0) return;
    checking = true;
    try {
      // The streams open now: one opened while the query runs is not in its answer, and must not be taken for a deleted app's.
      const checked = [...open];
      const appIds = [...new Set(checked.map((stream) => stream.appId))];
      const { rows } = await db.query<{ id: string }>('SELECT id FROM apps WHERE id = ANY($1::uuid[])', [appIds]);
      const live = new Set(rows.map((row) => row.id));
      for (const stream of checked) if (!live.has(stream.appId)) stream.end();
    } catch {
      // The database is unreachable now: the next heartbeat checks again.
    } finally {
      checking = false;
    }
  };
  const opened = (stream: OpenStream) => {
    open.add(stream);
    options.metrics?.streamsChanged(1);
    perApp.set(stream.appId, (perApp.get(stream.appId) ?? 0) + 1);
    heartbeat ??= setInterval(() => {
      for (const each of open) each.write(': heartbeat\n\n');
      void closeDeletedApps();
    }, heartbeatMs);
  };
  const closed = (stream: OpenStream) => {
    bus.unsubscribe(stream);
    open.delete(stream);
    options.metrics?.streamsChanged(-1);
    const left = (perApp.get(stream.appId) ?? 1) - 1;
    if (left > 0) perApp.set(stream.appId, left);
    else perApp.delete(stream.appId);
    if (open.size === 0) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  };

  return async function callStream(ctx) {
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cache-Control', 'no-store');
    const { token } = ctx.query;
    if (Array.isArray(token)) throw new HttpError(400, 'token is given more than once');
    const app = token ? await appForStreamToken(db, token) : undefined;
    if (!app) throw new HttpError(401, 'A valid stream token is required: get one from POST /api/stream-tokens (each lasts 5 minutes)');
    let after = resumeAfter(ctx.get('Last-Event-ID'), ctx.query.last_event_id);
    if (ctx.method === 'HEAD') {
      // A link checker's HEAD: the stream's headers, and no stream to hold the connection.
      ctx.status = 200;
      ctx.type = 'text/event-stream';
      return;
    }

    const { res } = ctx;
    const stream = new OpenStream(res, app.appId, app.ids);
    let from: number;
    try {
      from = await bus.subscribe(stream);
    } catch (error) {
      if (error instanceof BusClosedError) {
        throw new HttpError(503, 'The server is shutting down; connect again in a moment', { headers: { 'Retry-After': '2' } });
      }
      throw error;
    }
    // Counted here, with nothing awaited until `opened`: streams opening at once cannot all slip under the limits.
    const refusal =
      open.size >= maxStreams
        ? 'This server has as many live streams open as it takes: connect again in a moment'
        : (perApp.get(app.appId) ?? 0) >= maxStreamsPerApp
          ? `This app has ${maxStreamsPerApp} live streams open on this server, the most it may: close one, or raise MAX_STREAMS_PER_APP`
          : undefined;
    if (refusal) {
      bus.unsubscribe(stream);
      throw new HttpError(429, refusal, { headers: { 'Retry-After': String(10 + randomInt(20)) }, code: 'too_many_streams' });
    }
    opened(stream);
    // Ended by the stream's lifetime, the shutdown, a deleted app or the client: the timer goes with it.
    const lifetime = setTimeout(() => stream.end(), maxStreamMs);
    res.once('close', () => {
      clearTimeout(lifetime);
      closed(stream);
    });
    if (after !== undefined && after > from) {
      // An id past the log's end (a restored or replaced database, another environment's id): resuming
      // there would wait for ever. Start afresh instead, with the calls in progress.
      ctx.state.log.info({ lastEventId: after, latest: from }, 'live stream asked to resume past the newest event: starting afresh');
      after = undefined;
    }
    if (res.destroyed) {
      ctx.respond = false;
      return;
    }

    // From here on the answer is the stream: Koa leaves the response alone.
    ctx.status = 200;
    ctx.respond = false;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.req.socket.setKeepAlive(true);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      // no-transform: a proxy must not compress or rewrite it (which would hold events back).
      'Cache-Control': 'no-store, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    const start = after ?? from;
    // A random retry spreads the reconnections of many browsers after a restart.
    stream.write(`retry: ${2_000 + randomInt(3_000)}\n\nid: ${start}\nevent: connected\ndata: {"type":"connected"}\n\n`);
    stream.cursor = start;
    try {
      if (after === undefined) {
        for (const frame of await readActiveCallFrames(db, { upTo: from, ids: app.ids })) await stream.writeAndWait(frame);
      }
      for (let page = start; page < from && !res.destroyed;) {
        const events = await readCallEvents(db, { after: page, upTo: from, ids: app.ids, limit: REPLAY_PAGE });
        for (const event of events) await stream.replay(event);
        page = events.length < REPLAY_PAGE ? from : events.at(-1)!.id;
      }
      stream.goLive();
    } catch (error) {
      // The client reconnects and resumes from the last event it got.
      ctx.state.log.warn({ err: error }, 'the live stream could not replay from the database');
      res.destroy();
    }
    // Live: the bus, the heartbeat and the timer hold the stream from here, and the request's handlers
    // return (its log line says it opened) — waiting here for its end would keep each one's frames,
    // closures and logger alive for the stream's whole life, for every open stream.
  };
}
