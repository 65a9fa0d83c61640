import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TokentrayError } from '../../../shared/errors.ts';

export const LOCK_FILE = 'broker.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One broker per data folder (REQUIREMENTS 7, 22): a lock file holding the broker's pid,
 * created exclusively. A lock whose process is gone (a killed broker) is taken over.
 */
export async function acquireBrokerLock(home: string): Promise<{ release: () => Promise<void> }> {
  const path = join(home, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
      await handle.sync();
      await handle.close();
      return {
        release: async () => {
          const owner = await readOwner(path);
          if (owner === process.pid) await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await readOwner(path);
      if (owner !== null && owner !== process.pid && alive(owner)) {
        throw new TokentrayError('broker_running', `a broker (pid ${owner}) is already running for ${home}; stop it first, or use another TOKENTRAY_HOME`);
      }
      // Stale: its process is gone (or the file is torn). Take it over.
      await unlink(path).catch(() => undefined);
    }
  }
  throw new TokentrayError('broker_running', `could not take the broker lock in ${home}: another broker is starting`);
}

async function readOwner(path: string): Promise<number | null> {
  try {
    const { pid } = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
