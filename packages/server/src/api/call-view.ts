/**
 * A call as Beckon's readers see it — `GET /api/calls`, `/api/active-calls`, and the live stream's
 * `call` events — in one place, so they cannot drift apart. Seed 002's shape (`session_id` is the
 * provider's call id, `status` the state, `timestamp` when the call started), plus `tenant` (the config
 * id) and `provider`, plus `customer_url` for the popup's "View customer".
 */
export interface CallView {
  /** Beckon's id of the call, as a string (a `bigint` in the database). */
  id: string;
  tenant: string;
  provider: string;
  /** The provider's id of the call. */
  session_id: string;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  direction: 'inbound' | 'outbound';
  status: 'ringing' | 'answered' | 'missed' | 'voicemail' | 'ended';
  /** When the call started, ISO 8601 in UTC. */
  timestamp: string;
  /** The matched customer's `external_id` (the id in the system it was imported from); null when none matched. */
  customer_id: string | null;
  customer_name: string | null;
  customer_email: string | null;
  customer_url: string | null;
}

/** What `CALL_SELECT` reads. */
export interface CallRow {
  id: number;
  tenant: string;
  provider: string;
  provider_call_id: string;
  direction: CallView['direction'];
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  state: CallView['status'];
  started_at: Date;
  customer_external_id: string | null;
  customer_name: string | null;
  customer_email: string | null;
  customer_url: string | null;
}

/** The columns `CallRow` names, from `CALL_FROM`. */
export const CALL_COLUMNS = `c.id, c.tenant, c.provider, c.provider_call_id, c.direction, c.from_number, c.from_name, c.to_number, c.state,
  c.started_at, cu.external_id AS customer_external_id, cu.name AS customer_name, cu.email AS customer_email, cu.url AS customer_url`;

/**
 * The matched customer (alias `cu`) of each call (alias `c`), looked up by its key row by row. The
 * `OFFSET 0` keeps PostgreSQL from turning the lookup into a join it may plan as a hash of every
 * customer: for a page of 101 calls and 10 000 customers it did, reading and hashing the whole table for
 * each page (4 to 30 ms of a page's time, measured with 1 000 000 calls), where 101 key lookups take
 * well under one.
 */
export const CUSTOMER_JOIN =
  'LEFT JOIN LATERAL (SELECT external_id, name, email, url FROM customers WHERE customers.id = c.customer_id OFFSET 0) cu ON true';

/** The calls (alias `c`) with their matched customer (alias `cu`). */
export const CALL_FROM = `FROM calls c ${CUSTOMER_JOIN}`;

/**
 * A call (alias `c`) still in progress: ringing or answered, and changed recently enough to be believed.
 * A provider that never reports a call's end (a lost delivery, a subscription that lapsed) would
 * otherwise leave it active for ever: a ringing call unchanged for an hour, or an answered one for
 * twelve, is no longer listed as active (its stored state stays what the provider last said).
 */
export const ACTIVE_CALL = `((c.state = 'ringing' AND c.updated_at > now() - interval '1 hour')
  OR (c.state = 'answered' AND c.updated_at > now() - interval '12 hours'))`;

/** The calls as `CallRow`s: add WHERE, ORDER BY and LIMIT. */
export const CALL_SELECT = `SELECT ${CALL_COLUMNS} ${CALL_FROM}`;

export function callView(row: CallRow): CallView {
  return {
    id: String(row.id),
    tenant: row.tenant,
    provider: row.provider,
    session_id: row.provider_call_id,
    from_number: row.from_number,
    from_name: row.from_name,
    to_number: row.to_number,
    direction: row.direction,
    status: row.state,
    timestamp: row.started_at.toISOString(),
    customer_id: row.customer_external_id,
    customer_name: row.customer_name,
    customer_email: row.customer_email,
    customer_url: row.customer_url,
  };
}
