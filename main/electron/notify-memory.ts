// Which episode each account was notified for, kept in the data folder so a restart or a
// resume never notifies the same episode twice.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../core/files/atomic-file.ts';
import type { NotifyMemory } from './notification-policy.ts';

export const NOTIFIED_FILE = 'notified.json';
const memorySchema = z.record(z.string().max(64), z.string().max(200));

export function fileNotifyMemory(home: string): { load(): Promise<NotifyMemory>; save(memory: NotifyMemory): Promise<void> } {
  const path = join(home, NOTIFIED_FILE);
  return {
    async load() {
      const text = await readFile(path, 'utf8').catch(() => null);
      if (text === null) return {};
      try {
        const parsed = memorySchema.safeParse(JSON.parse(text));
        return parsed.success ? parsed.data : {};
      } catch {
        return {}; // unreadable: at worst one notification too many, never a crash
      }
    },
    save: (memory) => writeFileAtomic(path, `${JSON.stringify(memory)}\n`),
  };
}
