import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `check` holds, or gives up after `timeoutMs`: for effects that land after a response. `check` may be async (an HTTP request). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}
