import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_KEYCHAIN_SERVICE = 'tokentray';

/** The data folder: `TOKENTRAY_HOME`, else the OS's per-user config folder. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env['TOKENTRAY_HOME'];
  if (explicit) return explicit;
  if (platform === 'win32') return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'tokentray');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'tokentray');
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'tokentray');
}

/** The keychain service name every item is stored under: `TOKENTRAY_KEYCHAIN_SERVICE`, else `tokentray`. */
export function resolveKeychainService(env: NodeJS.ProcessEnv = process.env): string {
  const service = env['TOKENTRAY_KEYCHAIN_SERVICE']?.trim();
  return service ? service : DEFAULT_KEYCHAIN_SERVICE;
}
