import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../log/logger.ts';

/**
 * Gives memory back to the system once the broker has been quiet for a while after work.
 *
 * V8 collects garbage when JavaScript allocates, so after a burst (the start-up check of a
 * thousand records, every account refreshing after a sleep, a tool hammering the endpoint) a
 * broker that goes quiet keeps the burst's garbage and its young generation committed for as
 * long as it stays quiet — for a tray app, hours: 1,000 accounts measured 126–155 MB resident
 * for ≈ 21 MB of live heap. One full, compacting collection when the quiet begins (or as soon
 * as a known burst ends: the start-up check) gives most of it back (155 → 98 MB there).
 *
 * Cost while busy: `touch` is one boolean write (it is on the token route); one timer runs per
 * `quietMs` while there is activity, none while idle. The collection runs once per quiet
 * period, and only when the process grew by `minGrowthBytes` since the last one.
 */
export class MemoryTrim {
  readonly #quietMs: number;
  readonly #minGrowthBytes: number;
  readonly #collect: (() => void) | null;
  readonly #rss: () => number;
  readonly #log: Logger | null;
  #active = false;
  #timer: NodeJS.Timeout | null = null;
  #rssAfterTrim = 0;
  #stopped = false;

  constructor(options: { quietMs?: number; minGrowthBytes?: number; collect?: (() => void) | null; rss?: () => number; logger?: Logger } = {}) {
    this.#quietMs = options.quietMs ?? 30_000;
    this.#minGrowthBytes = options.minGrowthBytes ?? 16 * 2 ** 20;
    this.#collect = options.collect === undefined ? compactingCollector() : options.collect;
    this.#rss = options.rss ?? (() => process.memoryUsage.rss());
    this.#log = options.logger ?? null;
  }

  /** Something happened: the trim waits until `quietMs` (to twice that) pass without a touch. */
  touch(): void {
    if (this.#timer !== null) this.#active = true;
    else if (!this.#stopped && this.#collect) this.#arm();
  }

  /**
   * A burst has just ended (the start-up check of every record): give its memory back now,
   * rather than after the quiet that follows (a person's broker is smaller 30–60 s sooner).
   */
  afterBurst(): void {
    if (!this.#stopped && this.#collect) this.#trim();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    this.#timer = setTimeout(() => this.#fire(), this.#quietMs);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    if (this.#active) {
      // Touched during the last period: still busy, look again one period later.
      this.#active = false;
      this.#arm();
      return;
    }
    this.#trim();
  }

  #trim(): void {
    const before = this.#rss();
    if (before < this.#rssAfterTrim + this.#minGrowthBytes) return;
    const started = performance.now();
    this.#collect!();
    this.#rssAfterTrim = this.#rss();
    this.#log?.debug({ ms: Math.round(performance.now() - started), rssBeforeMb: Math.round(before / 2 ** 20), rssAfterMb: Math.round(this.#rssAfterTrim / 2 ** 20) }, 'memory given back');
  }
}

/**
 * V8's full collection in its "last resort" flavour (compacts, shrinks the young generation,
 * returns free pages), reached through `--expose-gc` in a context of its own so the broker's
 * global scope gains no `gc`. null where the runtime refuses (then nothing is trimmed).
 */
export function compactingCollector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc !== 'function') return null;
    return () => (gc as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } catch {
    return null;
  }
}
