import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokentrayError } from '../../../shared/errors.ts';
import { systemNow } from '../clock.ts';
import { processAlive as alive } from '../process-alive.ts';

export const LOCK_FILE = 'broker.lock';

/** What names a process beyond its pid, where the OS says (Linux): this boot, and when it started in it. */
interface Identity {
  pid: number;
  boot?: string;
  start?: string;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function bootId(): string | undefined {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot (after the `(comm)`, which may hold spaces). */
function startTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

export function myIdentity(): Identity {
  const boot = bootId();
  const start = startTime(process.pid);
  return { pid: process.pid, ...(boot ? { boot } : {}), ...(start ? { start } : {}) };
}

/**
 * Whether the broker that wrote the lock still runs. A live pid is not enough: after a reboot
 * (or a long uptime) the pid can belong to another process, which would block `serve`
 * forever; the boot id and the start time the lock recorded tell them apart.
 */
export function holdsLock(owner: Identity): boolean {
  if (!alive(owner.pid)) return false;
  if (owner.boot && bootId() && owner.boot !== bootId()) return false;
  if (owner.start) {
    const now = startTime(owner.pid);
    if (now && now !== owner.start) return false;
  }
  return true;
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException).code === code;
}

/**
 * One broker per data folder (REQUIREMENTS 7, 22): a lock file holding the broker's pid (and,
 * on Linux, its boot id and start time, so a reused pid is not taken for a live broker).
 *
 * - It is written whole under a private name, then hard-linked into place: link() fails if the
 *   lock exists, and nobody ever reads a half-written lock. (With open(…, 'wx') a broker
 *   starting at the same moment read the empty file, took it for stale, and both ran.)
 * - A lock whose process is gone (a killed broker) is taken over by one broker at a time: the
 *   taker holds `broker.lock.takeover` (made the same way), checks the lock is still stale,
 *   and only then removes it. Without that, two takers could each remove the other's new lock.
 */
export async function acquireBrokerLock(home: string): Promise<{ release: () => Promise<void> }> {
  const path = join(home, LOCK_FILE);
  const takeover = `${path}.takeover`;
  const mine = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const handle = await open(mine, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ ...myIdentity(), startedAt: systemNow().toISOString() })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  /** Throws if a live broker holds the lock; otherwise says whether a (stale) lock file is there. */
  const refuseIfLive = async (): Promise<boolean> => {
    const owner = await readLock(path);
    if (owner !== 'absent' && owner !== null && owner.pid !== process.pid && holdsLock(owner)) throw running(owner.pid, home);
    return owner !== 'absent';
  };
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (await linked(mine, path)) return { release: () => release(path) };
      await refuseIfLive();
      // Stale: take it over, one broker at a time.
      if (await linked(mine, takeover)) {
        try {
          // Checked again now that nobody else may remove it. A stale file stays put until we
          // remove it (linking fails while it exists); an absent one may be taken any moment
          // by a broker's link(), so then there is nothing to remove.
          if (await refuseIfLive()) await unlink(path).catch((error: unknown) => { if (!isErrno(error, 'ENOENT')) throw error; });
        } finally {
          await unlink(takeover).catch(() => undefined);
        }
        continue;
      }
      // Someone else is taking over; a taker that died mid-way leaves a takeover lock of a dead pid.
      const taker = await readLock(takeover);
      if (taker !== 'absent' && taker !== null && !holdsLock(taker)) await unlink(takeover).catch(() => undefined);
      await sleep(10 + Math.random() * 20);
    }
    throw new TokentrayError('broker_running', `could not take the broker lock in ${home}: another broker is starting`);
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

async function linked(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
}

async function release(path: string): Promise<void> {
  const owner = await readLock(path);
  if (owner !== 'absent' && owner?.pid === process.pid) await unlink(path).catch(() => undefined);
}

function running(pid: number, home: string): TokentrayError {
  return new TokentrayError('broker_running', `a broker (pid ${pid}) is already running for ${home}; stop it first, or use another TOKENTRAY_HOME`);
}

/** Who holds a lock file, null when it holds no valid pid, 'absent' when there is no file. */
async function readLock(path: string): Promise<Identity | null | 'absent'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return isErrno(error, 'ENOENT') ? 'absent' : null;
  }
  try {
    const { pid, boot, start } = JSON.parse(text) as { pid?: unknown; boot?: unknown; start?: unknown };
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return null;
    return { pid, ...(typeof boot === 'string' ? { boot } : {}), ...(typeof start === 'string' ? { start } : {}) };
  } catch {
    return null;
  }
}
