import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `check` holds, or gives up after `timeoutMs`: for effects that land after a response. */
export async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}
