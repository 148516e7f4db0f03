import type { IncomingMessage } from 'node:http';
import { error, type BodyMode, type Reply } from './routes/shared.js';

/** Bodies above this answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** An oversized body is read to its end (so the client sees the 413) up to this much, then the connection is cut. */
const MAX_DRAIN_BYTES = 32 * 1024 * 1024;

/**
 * A request's body: `parsed` (`value` is undefined when it was empty or not read), `invalid` (`reply`
 * says why), `too-large`, or `aborted` (it never arrived whole).
 */
export type Body = { kind: 'parsed'; value: unknown } | { kind: 'invalid'; reply: Reply } | { kind: 'too-large' } | { kind: 'aborted' };

function readBytes(request: IncomingMessage): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Buffer | 'too-large' | 'aborted') => {
      if (done) return;
      done = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) {
        request.socket.destroy();
        finish('aborted');
      }
    });
    request.on('end', () => finish(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', () => finish('aborted'));
    request.on('close', () => finish('aborted'));
  });
}

async function parseForm(data: Buffer, contentType: string): Promise<Body> {
  try {
    // The global Response parses both multipart and url-encoded bodies, as a fetch client would.
    const form = await new Response(data, { headers: { 'content-type': contentType } }).formData();
    const fields: Record<string, string> = {};
    // Files are not fields of any route; a repeated name keeps its last value, as PHP does.
    for (const [name, value] of form) if (typeof value === 'string') fields[name] = value;
    return { kind: 'parsed', value: fields };
  } catch {
    return { kind: 'invalid', reply: error(400, 'Invalid form body') };
  }
}

function parse(mode: BodyMode, data: Buffer, contentType: string): Body | Promise<Body> {
  if (mode === 'none' || data.length === 0) return { kind: 'parsed', value: undefined };
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const isForm = type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded';
  const text = data.toString('utf8');
  if (mode === 'form') {
    // Like PHP's $_POST: a body in any other encoding yields no fields.
    return isForm ? parseForm(data, contentType) : { kind: 'parsed', value: {} };
  }
  const json = mode === 'json' || type.includes('json') || (!isForm && /^\s*[[{]/.test(text));
  if (!json) return parseForm(data, contentType || 'application/x-www-form-urlencoded');
  try {
    return { kind: 'parsed', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid', reply: error(400, 'Invalid JSON in request body') };
  }
}

/** Reads a request's body to its end, then parses it as `mode` says and its Content-Type declares. */
export async function readBody(request: IncomingMessage, mode: BodyMode): Promise<Body> {
  const data = await readBytes(request);
  return typeof data === 'string' ? { kind: data } : parse(mode, data, request.headers['content-type'] ?? '');
}
