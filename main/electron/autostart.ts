// Start at login on Linux: an XDG autostart entry (freedesktop.org "Desktop Application
// Autostart"), read back from disk so the window shows what really happens at login.
import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/files/atomic-file.ts';

export function autostartFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'autostart', 'tokentray.desktop');
}

/** Quotes an Exec argument as the Desktop Entry spec wants. */
function execArg(value: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(value) ? value : `"${value.replace(/(["`$\\])/g, '\\$1')}"`;
}

export function autostartEntry(command: string[]): string {
  return ['[Desktop Entry]', 'Type=Application', 'Name=Tokentray', 'Comment=Keeps OAuth sessions alive for your tools', `Exec=${command.map(execArg).join(' ')}`, 'X-GNOME-Autostart-enabled=true', 'NoDisplay=false', 'Terminal=false', ''].join('\n');
}

/** Login items backed by the autostart file: `get` reads the file, so it reports the real state. */
export function xdgLoginItems(command: string[], env: NodeJS.ProcessEnv = process.env): { get(): Promise<boolean>; set(enabled: boolean): Promise<void> } {
  const file = autostartFile(env);
  return {
    async get() {
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text === null) return false;
      // Hidden=true or X-GNOME-Autostart-enabled=false mean the person switched it off.
      return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
    },
    async set(enabled) {
      if (enabled) await writeFileAtomic(file, autostartEntry(command), 0o644);
      else await rm(file, { force: true });
    },
  };
}
