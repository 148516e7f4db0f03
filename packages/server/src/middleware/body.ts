import type { Middleware, ParameterizedContext } from 'koa';
import type { AppState } from '../context.js';
import { HttpError } from '../http-error.js';

export type BodyType = 'json' | 'form' | 'multipart';

export interface BodyOptions {
  /** Content types accepted; anything else is a 415 naming them. */
  accept: BodyType[];
  /** The largest body read, in bytes; a larger one is a 413 and is not read further. */
  limit: number;
}

/** A parsed body: field name → text. Repeated fields, files and nested JSON are refused. */
export type Fields = Record<string, string>;

export interface BodyState extends AppState {
  fields: Fields;
}

const MEDIA_TYPES: Record<BodyType, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
};

/**
 * Reads the body into flat text fields, whatever the encoding: the config forms arrive as Zoho's
 * form-urlencoded, as multipart or as JSON, and every route wants the same thing out of them.
 * Multipart and urlencoded are parsed by the platform's own `Request.formData()`.
 */
export function parseBody(options: BodyOptions): Middleware<BodyState> {
  return async function parseBody(ctx, next) {
    ctx.state.fields = await readFields(ctx, options);
    return next();
  };
}

/** The parser itself, for routes that answer its errors in their own format. Throws `HttpError`s. */
export async function readFields(ctx: ParameterizedContext<AppState>, options: BodyOptions): Promise<Fields> {
  const body = await readRaw(ctx, options);
  if (!body) return Object.create(null) as Fields;
  return body.type === 'json' ? jsonFields(parseJson(body.raw)) : formFields(body.raw, ctx.get('Content-Type'));
}

/**
 * The body as JSON of any shape, for routes whose input is more than flat text fields (lists, objects);
 * the same checks as `readFields` (media type, no compression, at most `limit` bytes). Undefined when
 * the request has no body, or an empty one. Throws `HttpError`s.
 */
export async function readJson(ctx: ParameterizedContext<AppState>, limit: number): Promise<unknown> {
  // fetch sends `Content-Length: 0` for a POST without a body: no body, whatever the content type says.
  if (ctx.request.length === 0) return undefined;
  const body = await readRaw(ctx, { accept: ['json'], limit });
  return body && parseJson(body.raw);
}

/** The body's bytes after the same checks (media type, no compression, at most `limit` bytes); undefined without a body. */
export async function readRaw(
  ctx: ParameterizedContext<AppState>,
  options: BodyOptions,
): Promise<{ type: BodyType; raw: Buffer } | undefined> {
  if (ctx.request.length === undefined && !ctx.get('Transfer-Encoding')) return undefined;
  if (ctx.req.readableEnded || (ctx.request as { body?: unknown }).body !== undefined) {
    // A host app's body parser ran first and the stream is gone: reading it would wait forever.
    throw new Error("The request body was already read by another middleware: mount your body parser after Beckon's router");
  }
  const mediaType = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
  const type = options.accept.find((candidate) => MEDIA_TYPES[candidate] === mediaType);
  if (!type) throw new HttpError(415, `Send the body as ${options.accept.map((name) => MEDIA_TYPES[name]).join(', ')}`);
  if (ctx.get('Content-Encoding') && ctx.get('Content-Encoding') !== 'identity') {
    throw new HttpError(415, 'Compressed request bodies are not accepted');
  }
  return { type, raw: await readLimited(ctx, options.limit) };
}

/** The body as sent, at most `limit` bytes: a 413 past it (the connection closes), a 400 when it stops short. */
export async function readLimited(ctx: ParameterizedContext<AppState>, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `The request body is larger than ${limit} bytes`);
  if (ctx.request.length !== undefined && ctx.request.length > limit) {
    // Not read at all; the connection closes after the 413 instead of draining a huge upload.
    ctx.set('Connection', 'close');
    throw tooLarge();
  }
  // Listeners, not `for await`: leaving an async iterator early destroys the request, and with it the
  // socket the 413 has to go out on (Koa then answered a bare 500).
  const req = ctx.req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: HttpError | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Stop reading; the connection closes after the 413.
      req.pause();
      ctx.set('Connection', 'close');
      settle(tooLarge());
    };
    const onEnd = () => settle(undefined);
    const onAbort = () => settle(new HttpError(400, 'The request body was not received completely'));
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'The body is not valid JSON');
  }
}

function jsonFields(data: unknown): Fields {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HttpError(400, 'The body must be a JSON object');
  }
  const fields: Fields = Object.create(null) as Fields;
  for (const [name, value] of Object.entries(data)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') fields[name] = String(value);
    else throw new HttpError(400, `${label(name)} must be a string`);
  }
  return fields;
}

async function formFields(raw: Buffer, contentType: string): Promise<Fields> {
  let form: FormData;
  try {
    form = await new Request('http://body.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  } catch {
    throw new HttpError(400, 'The form body could not be parsed');
  }
  const fields: Fields = Object.create(null) as Fields;
  for (const [name, value] of form) {
    if (typeof value !== 'string') throw new HttpError(400, `${label(name)} must be a text field, not a file`);
    if (name in fields) throw new HttpError(400, `${label(name)} is given more than once`);
    fields[name] = value;
  }
  return fields;
}

/** A field's name as a message shows it: bare when it is an ordinary name, else quoted and cut short (it can be empty, or 60 KB of anything). */
function label(name: string): string {
  if (/^[\w.[\]-]{1,64}$/.test(name)) return name;
  return `The field ${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)}`;
}
