import type { TenantConfig } from './schema.js';

/** Computes an entry's new value from its current one (undefined when the id is new). */
export type TenantChange = (current: TenantConfig | undefined) => TenantConfig;

/**
 * Where per-customer configs live. Reads are served from memory (they sit on every request's path);
 * writes are serialized and applied to the freshest copy, so two concurrent updates never lose a field.
 */
export interface TenantStore {
  get(id: string): TenantConfig | undefined;
  /** How many ids are configured. */
  size(): number;
  /** Every configured id (a copy). */
  ids(): string[];
  update(id: string, change: TenantChange): Promise<TenantConfig>;
  close(): Promise<void>;
}

/** The store cannot take a write right now (e.g. another process holds the lock too long). */
export class TenantStoreBusyError extends Error {
  override name = 'TenantStoreBusyError';
}
