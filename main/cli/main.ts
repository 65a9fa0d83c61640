// The `tokentray` command. It starts fast: only what the command in hand needs is imported.
import { readFileSync } from 'node:fs';
import { EXIT } from './exit-codes.ts';

const HELP = `tokentray — keeps OAuth 2.0 / OIDC sessions alive and hands valid tokens to local tools

Usage: tokentray <command> [options]

Options:
  -h, --help       show this help
  -v, --version    print the version

Environment:
  TOKENTRAY_HOME               data folder (default: ~/.config/tokentray)
  TOKENTRAY_KEYCHAIN_SERVICE   keychain service name (default: tokentray)

Exit codes: 0 ok · 1 failure · 2 usage · 3 broker not running · 4 sign-in needed ·
            5 provider unavailable · 6 not found · 7 locked
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(HELP);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`tokentray: unknown command "${first}"\nRun "tokentray --help" for the commands.\n`);
  return EXIT.usage;
}
