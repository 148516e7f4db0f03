import type { ParameterizedContext } from 'koa';
import { z } from 'zod';
import { HttpError } from '../http-error.js';
import { readJson } from '../middleware/body.js';
import { ID_PATTERN } from '../tenants/schema.js';

const subscriptionRequest = z.strictObject({ id: z.string().regex(ID_PATTERN) });

/**
 * The config id of `POST /internal/subscriptions/<provider> {"id":"<config id>"}` (NetSapiens,
 * RingCentral): a 400 for anything but one valid id, naming unknown fields.
 */
export async function readSubscriptionId(ctx: ParameterizedContext): Promise<string> {
  const parsed = subscriptionRequest.safeParse(await readJson(ctx, 4_096));
  if (parsed.success) return parsed.data.id;
  const unknown = parsed.error.issues.find((issue) => issue.code === 'unrecognized_keys');
  throw new HttpError(
    400,
    unknown ? `Unknown field(s) ${unknown.keys.join(', ')}: send id only` : 'Send {"id":"<config id>"}, e.g. {"id":"example.com-sales"}',
  );
}
