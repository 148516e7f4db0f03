import type { Middleware, ParameterizedContext } from 'koa';
import type { AppState } from '../context.js';
import { ApiError } from './errors.js';

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

/** The parser itself, for routes that answer its errors in their own format. Throws `ApiError`s. */
export async function readFields(ctx: ParameterizedContext<AppState>, options: BodyOptions): Promise<Fields> {
  if (ctx.request.length === undefined && !ctx.get('Transfer-Encoding')) return Object.create(null) as Fields;
  const mediaType = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
  const type = options.accept.find((candidate) => MEDIA_TYPES[candidate] === mediaType);
  if (!type) throw new ApiError(415, `Send the body as ${options.accept.map((name) => MEDIA_TYPES[name]).join(', ')}`);
  if (ctx.get('Content-Encoding') && ctx.get('Content-Encoding') !== 'identity') {
    throw new ApiError(415, 'Compressed request bodies are not accepted');
  }
  const raw = await readLimited(ctx, options.limit);
  return type === 'json' ? jsonFields(raw) : formFields(raw, ctx.get('Content-Type'));
}

async function readLimited(ctx: ParameterizedContext<AppState>, limit: number): Promise<Buffer> {
  const tooLarge = () => new ApiError(413, `The request body is larger than ${limit} bytes`);
  if (ctx.request.length !== undefined && ctx.request.length > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      // Stop reading; the connection closes after the 413 instead of draining a huge upload.
      ctx.set('Connection', 'close');
      throw tooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function jsonFields(raw: Buffer): Fields {
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, 'The body is not valid JSON');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ApiError(400, 'The body must be a JSON object');
  }
  const fields: Fields = Object.create(null) as Fields;
  for (const [name, value] of Object.entries(data)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') fields[name] = String(value);
    else throw new ApiError(400, `${name} must be a string`);
  }
  return fields;
}

async function formFields(raw: Buffer, contentType: string): Promise<Fields> {
  let form: FormData;
  try {
    form = await new Request('http://body.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  } catch {
    throw new ApiError(400, 'The form body could not be parsed');
  }
  const fields: Fields = Object.create(null) as Fields;
  for (const [name, value] of form) {
    if (typeof value !== 'string') throw new ApiError(400, `${name} must be a text field, not a file`);
    if (name in fields) throw new ApiError(400, `${name} is given more than once`);
    fields[name] = value;
  }
  return fields;
}
