import { has, parseArgs, UsageError } from '../args.ts';
import { call } from '../endpoint-client.ts';
import { printJson } from '../output.ts';

/** `tokentray open`: a one-time link to the running broker's window, opened in the system browser. */
export async function openCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['no-browser', 'json'] });
  if (args.positionals.length > 0) throw new UsageError('usage: tokentray open [--no-browser] [--json]');
  const { body } = await call(home, 'POST', '/v1/ui/open');
  const url = (body as { url: string }).url;
  if (has(args, 'json')) printJson({ url });
  else process.stdout.write(`Open Tokentray (this link works once, within 60 s):\n  ${url}\n`);
  if (!has(args, 'no-browser')) {
    const { systemBrowser } = await import('../../core/daemon/system-browser.ts');
    await systemBrowser().open(url).catch((error: unknown) => {
      process.stderr.write(`tokentray: could not open a browser (${error instanceof Error ? error.message : String(error)}); open the link above yourself\n`);
    });
  }
  return 0;
}

/** `tokentray lock` / `unlock`: refuse every token request until unlocked; refresh goes on. */
export async function lockCommand(home: string, argv: string[], locked: boolean): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['json'] });
  if (args.positionals.length > 0) throw new UsageError(`usage: tokentray ${locked ? 'lock' : 'unlock'} [--json]`);
  const { body } = await call(home, 'POST', locked ? '/v1/lock' : '/v1/unlock');
  if (has(args, 'json')) printJson(body);
  else process.stdout.write(locked ? 'Locked: tools get no token (exit 7, HTTP 423) until "tokentray unlock". Tokens are still refreshed.\n' : 'Unlocked: tools get tokens again.\n');
  return 0;
}
