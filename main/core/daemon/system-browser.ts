import { spawn } from 'node:child_process';
import { TokentrayError } from '../../../shared/errors.ts';
import type { BrowserOpener } from '../oauth/sign-in.ts';
import { assertSafeUrl } from '../oauth/url-policy.ts';

/** Opens the person's default browser (headless mode; the desktop shell uses shell.openExternal). */
export function systemBrowser(platform: NodeJS.Platform = process.platform): BrowserOpener {
  return {
    open: (url) =>
      new Promise((resolve, reject) => {
        assertSafeUrl(url, 'the sign-in URL');
        const [command, args] = platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
        const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
        child.once('error', (error) => reject(new TokentrayError('sign_in_failed', `cannot open a browser (${command}: ${error.message}); use --no-browser and open the URL yourself`, { cause: error })));
        child.once('spawn', () => {
          child.unref();
          resolve();
        });
      }),
  };
}
