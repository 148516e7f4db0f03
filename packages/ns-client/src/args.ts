import { NsUsageError } from './errors.js';

/** Refuses a missing or blank string argument before anything is sent. */
export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new NsUsageError(`${field} is required`);
  return value;
}

/** NetSapiens' `yes` / `no` flags. */
export function yesNo(value: boolean): 'yes' | 'no' {
  return value ? 'yes' : 'no';
}
