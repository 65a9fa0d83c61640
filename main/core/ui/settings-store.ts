import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsSchema, type RecoveredFile, type Settings } from '../../../shared/broker-api.ts';
import { writeFileAtomic } from '../files/atomic-file.ts';
import { PersistedState } from '../files/persisted-state.ts';
import type { Logger } from '../log/logger.ts';
import { systemNow } from '../clock.ts';

export const SETTINGS_FILE = 'settings.json';
export const DEFAULT_SETTINGS: Settings = { notifications: true, startAtLogin: false };

/**
 * The person's preferences from the window (notifications, start at login), kept by the
 * broker in `settings.json` so the desktop shell and every window see the same ones.
 */
export class SettingsStore {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #state: PersistedState<Settings>;
  readonly #listeners = new Set<(settings: Settings) => void>();

  constructor(options: { home: string; logger: Logger }) {
    this.#path = join(options.home, SETTINGS_FILE);
    this.#logger = options.logger;
    this.#state = new PersistedState<Settings>(DEFAULT_SETTINGS, (next) => writeFileAtomic(this.#path, `${JSON.stringify(next, null, 2)}\n`));
  }

  get current(): Settings {
    return this.#state.value;
  }

  /** Reads settings.json; a damaged one is moved aside and reported (the defaults apply). */
  async load(): Promise<RecoveredFile | null> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch {
      return null; // none yet: the defaults
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = settingsSchema.safeParse(raw);
    if (parsed.success) {
      this.#state.replace(parsed.data);
      return null;
    }
    const movedTo = `${this.#path}.corrupt-${systemNow().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.#path, movedTo).catch(() => undefined);
    this.#logger.error({ movedTo }, 'settings.json was unreadable and was moved aside: the defaults apply');
    return { file: 'settings.json', movedTo, message: 'settings.json was damaged and was moved aside: the default settings apply until you change them.' };
  }

  /** Applies a change and resolves once it is on disk. */
  async update(change: Partial<Settings>): Promise<Settings> {
    const next = await this.#state.mutate((current) => {
      const value = settingsSchema.parse({ ...current, ...change });
      return { next: value, result: value };
    });
    for (const listener of this.#listeners) listener(next);
    return next;
  }

  onChange(listener: (settings: Settings) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
