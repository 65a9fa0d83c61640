import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root: the nearest folder above this module with a package.json (this file
 * runs from `main/` in tests and from `dist/main/` when built).
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Where `npm run build` puts the renderer (Vite's output), served in web mode and by the desktop shell. */
export function builtUiDir(): string {
  return join(packageRoot(), 'dist', 'ui');
}
