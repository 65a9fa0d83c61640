import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive as alive } from '../process-alive.ts';

/**
 * A broker that was killed leaves its keychain process running until it has written what the
 * broker had sent and journalled the refresh answers the broker never stored (keychain-worker.ts).
 * That process marks its hand-off with `keychain-<pid>.handoff` in the data folder the moment it
 * notices; the next broker waits for every live marker to go before it reads the journal, so it
 * never presents a refresh token the provider already rotated. Resolves with how long it waited.
 */
export async function awaitKeychainHandoff(dir: string, maxMs = 30_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const markers = (await readdir(dir).catch(() => [] as string[])).filter((name) => /^keychain-\d+\.handoff$/.test(name));
    let live = 0;
    for (const name of markers) {
      const pid = Number(/\d+/.exec(name)![0]);
      if (alive(pid)) live++;
      else await unlink(join(dir, name)).catch(() => undefined); // its process died too: nothing more will come
    }
    if (live === 0 || performance.now() - started > maxMs) return Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
