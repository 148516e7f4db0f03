import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import { e164 } from '../events/phone.js';

/** The most customers one request or one file may hold. */
export const MAX_CUSTOMERS = 10_000;

const MAX = { external_id: 128, name: 200, email: 254, phone: 40, url: 2_048 } as const;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
/** A name may break lines (a quoted CSV field can: "Acme Inc.\nAda Lovelace"); no other control characters. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_BUT_BREAKS = /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** A customer as Beckon stores it: the phone in E.164, absent fields null. */
export interface CustomerRow {
  external_id: string;
  name: string | null;
  email: string | null;
  phone_e164: string | null;
  url: string | null;
}

/** A customer as it is sent (`POST /internal/customers`, a JSON or CSV file, a lookup URL's answer). */
export type CustomerInput = Record<string, unknown>;

/** Half of a UTF-16 pair without its other half: no character, and not storable (customers travel as one `jsonb`). */
const LONE_SURROGATE = /\p{Cs}/u;

/** What a field takes, said once for every way a value can miss it (zod's own wording is not for people). */
const TEXT_OR_NUMBER = `must be a string, or a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`;

/** Text, trimmed; a number (a CRM's numeric id, a phone as digits) is read as its digits. Empty is absent. */
const loose = (field: keyof typeof MAX, control = CONTROL) =>
  z
    .union([z.string(), z.number().int({ error: TEXT_OR_NUMBER }).nonnegative({ error: TEXT_OR_NUMBER })], { error: TEXT_OR_NUMBER })
    .transform((value) => String(value).trim())
    .refine((value) => value.length <= MAX[field], { error: `must be at most ${MAX[field]} characters` })
    .refine((value) => !control.test(value), { error: 'must not contain control characters' })
    .refine((value) => !LONE_SURROGATE.test(value), { error: 'must be valid text: it holds half of a UTF-16 surrogate pair' });

const optional = (field: keyof typeof MAX, control = CONTROL) =>
  loose(field, control)
    .nullish()
    .transform((value) => value || null);

const email = z.email();

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
}

const fields = {
  external_id: loose('external_id').refine((value) => value !== '', { error: 'is required: the id of the customer in your system' }),
  name: optional('name', CONTROL_BUT_BREAKS),
  email: optional('email').refine((value) => value === null || email.safeParse(value).success, {
    error: 'must be an e-mail address such as ada@example.com',
  }),
  phone: optional('phone'),
  url: optional('url').refine((value) => value === null || isHttpUrl(value), { error: 'must be an http(s) URL' }),
};

const FIELD_NAMES = Object.keys(fields);

function customerSchema(country: CountryCode) {
  return z
    .strictObject(fields, {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `has unknown field(s) ${issue.keys.join(', ')}: send ${FIELD_NAMES.join(', ')}`
          : issue.code === 'invalid_type'
            ? 'must be an object with external_id, name, email, phone and url'
            : undefined,
    })
    .transform(({ external_id, name, email, phone, url }, context): CustomerRow => {
      const normalized = phone ? e164(phone, country) : null;
      if (phone && !normalized) {
        context.addIssue({
          code: 'custom',
          path: ['phone'],
          message: `is not a valid phone number (${JSON.stringify(phone.slice(0, 40))}; national numbers are read as ${country})`,
        });
        return z.NEVER;
      }
      return { external_id, name: name ?? null, email: email ?? null, phone_e164: normalized ?? null, url: url ?? null };
    });
}

/** Where a customer list failed: `customers[12].email must be …`. */
export class CustomerInputError extends Error {
  override name = 'CustomerInputError';
  constructor(
    message: string,
    /** The failing customer's position (0-based), when one failed. */
    readonly index?: number,
    readonly field?: string,
    /** What is wrong with it, without where (`must be an e-mail address …`). */
    readonly problem: string = message,
  ) {
    super(message);
  }
}

/** Customers checked between two turns of the event loop: 10 000 phones take libphonenumber ~0.5 s of CPU. */
const CHECK_SLICE = 500;

/**
 * Checks and normalizes a list of customers, all or nothing: the first invalid one throws a
 * `CustomerInputError` naming its index and field (`label` is how the list is named in it). A phone is
 * read as E.164 in `country` (the id's default country, as calls are), so an imported `(813) 555-1234`
 * and a caller `18135551234` are the same `+18135551234`. One `external_id` twice is refused: which one
 * was meant cannot be known. Yields to the event loop every `CHECK_SLICE` customers, so a long list does
 * not hold up the server's other requests (webhooks among them).
 */
export async function checkCustomers(list: unknown, country: CountryCode, label = 'customers'): Promise<CustomerRow[]> {
  if (!Array.isArray(list)) throw new CustomerInputError(`${label} must be a list of customers`);
  if (list.length === 0) throw new CustomerInputError(`${label} is empty: send at least one customer`);
  if (list.length > MAX_CUSTOMERS) {
    throw new CustomerInputError(`${label} holds ${list.length} customers; at most ${MAX_CUSTOMERS} at once: send them in parts`);
  }
  const schema = customerSchema(country);
  const rows: CustomerRow[] = [];
  const seen = new Map<string, number>();
  for (const [index, item] of list.entries()) {
    if (index > 0 && index % CHECK_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const row = checkOne(schema, item, index, label);
    const first = seen.get(row.external_id);
    if (first !== undefined) {
      throw new CustomerInputError(
        `${label}[${index}].external_id ${JSON.stringify(row.external_id)} is also ${label}[${first}]'s: each customer once`,
        index,
        'external_id',
        `${JSON.stringify(row.external_id)} appears twice (also at ${first}): each customer once`,
      );
    }
    seen.set(row.external_id, index);
    rows.push(row);
  }
  return rows;
}

/** One customer, checked as `checkCustomers` checks each (a lookup URL's answer); `label` names it in the error. */
export function checkCustomer(item: unknown, country: CountryCode, label: string): CustomerRow {
  return checkOne(customerSchema(country), item, 0, label);
}

function checkOne(schema: ReturnType<typeof customerSchema>, item: unknown, index: number, label: string): CustomerRow {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  throw new CustomerInputError(`${label}[${index}]${field ? `.${field}` : ''} ${issue.message}`, index, field, issue.message);
}

export interface UpsertResult {
  /** Customers given. */
  upserted: number;
  created: number;
  updated: number;
  /** Given exactly as stored already: not written. */
  unchanged: number;
}

/**
 * Stores `rows` for `tenant` by `external_id` in one statement: new ones are added, known ones replaced
 * as given (a field left out is emptied), identical ones left alone. The rows travel as one JSON
 * parameter (`jsonb_to_recordset`): one round trip for 10 000, on either engine, and nulls as they are.
 * Run it in a transaction with anything that must stand or fall with it.
 */
export async function upsertCustomers(tx: Queryable, tenant: string, rows: readonly CustomerRow[]): Promise<UpsertResult> {
  // xmax is 0 on a row version this statement inserted, and the updating transaction's id on one it updated.
  const { rows: written } = await tx.query<{ created: boolean }>(
    `INSERT INTO customers (tenant, external_id, name, email, phone_e164, url)
     SELECT $1, r.external_id, r.name, r.email, r.phone_e164, r.url
       FROM jsonb_to_recordset($2::jsonb) AS r(external_id text, name text, email text, phone_e164 text, url text)
     ON CONFLICT (tenant, external_id) DO UPDATE
       SET name = EXCLUDED.name, email = EXCLUDED.email, phone_e164 = EXCLUDED.phone_e164, url = EXCLUDED.url, updated_at = now()
       WHERE (customers.name, customers.email, customers.phone_e164, customers.url)
         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email, EXCLUDED.phone_e164, EXCLUDED.url)
     RETURNING (xmax = 0) AS created`,
    [tenant, JSON.stringify(rows)],
  );
  const created = written.filter((row) => row.created).length;
  const updated = written.length - created;
  return { upserted: rows.length, created, updated, unchanged: rows.length - written.length };
}
