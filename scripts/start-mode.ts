// Which app `npm start` can run here: the desktop shell needs a display and the Electron binary.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Why the desktop shell cannot start, in one line; null when it can. */
export function shellUnavailable(options: { platform: NodeJS.Platform; env: NodeJS.ProcessEnv; electronBinary: string | null }): string | null {
  const { platform, env } = options;
  if (platform === 'linux' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) return 'no display (DISPLAY and WAYLAND_DISPLAY are unset)';
  if (!options.electronBinary) return 'the Electron binary is missing (it downloads on first use from GitHub, which this machine cannot reach)';
  return null;
}

/**
 * The Electron binary if it is installed, without `require('electron')`, which would try to
 * download it (and fail slowly where GitHub is unreachable).
 */
export function electronBinary(root: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = join(root, 'node_modules', 'electron');
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  try {
    const relative = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const binary = join(override ?? join(dir, 'dist'), relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}
