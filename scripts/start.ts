// `npm start`: the desktop app where it can run; elsewhere (no display, no Electron binary, as
// on CI machines and SSH boxes) one line says why, the headless broker starts, and the
// one-time `tokentray open` link to its window is printed — so the README's first command
// always ends in a working window.
import { spawn, spawnSync } from 'node:child_process';
import { electronBinary, shellUnavailable } from './start-mode.ts';

const root = process.cwd();
const bin = 'bin/tokentray.cjs';
const binary = electronBinary(root);
const why = shellUnavailable({ platform: process.platform, env: process.env, electronBinary: binary });

if (!why) {
  const app = spawn(binary!, ['.'], { stdio: 'inherit' });
  app.on('exit', (code) => process.exit(code ?? 1));
} else {
  const display = process.platform !== 'linux' || !!process.env['DISPLAY'] || !!process.env['WAYLAND_DISPLAY'];
  console.log(`Tokentray: the desktop app cannot start here: ${why}. Starting the headless broker; its window opens in a browser.`);
  const openWindow = (): number => spawnSync(process.execPath, [bin, 'open', ...(display ? [] : ['--no-browser'])], { stdio: 'inherit' }).status ?? 1;
  const serve = spawn(process.execPath, [bin, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let opened = false;
  let errors = '';
  serve.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk);
    if (!opened && /listening on http/.test(chunk)) {
      opened = true;
      openWindow();
      console.log('Ctrl-C stops the broker. For another window link later: tokentray open');
    }
  });
  serve.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk;
    process.stderr.write(chunk);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => serve.kill(signal));
  serve.on('exit', (code) => {
    // Another broker already runs on this data folder: its window is just as good.
    if (!opened && /already running/.test(errors)) process.exit(openWindow());
    process.exit(code ?? 1);
  });
}
