// The `tokentray` command. It starts fast: each command loads only the modules it needs.
import { createRequire } from 'node:module';
import { resolveHome } from '../core/config.ts';
import { UsageError } from './args.ts';
import { EXIT } from './exit-codes.ts';
import { reportError } from './report-error.ts';

const HELP = `tokentray — keeps OAuth 2.0 / OIDC sessions alive and hands valid tokens to local tools

Usage: tokentray <command> [options]

Commands:
  serve [--port N]                       run the broker headless in the foreground
  add <name> (--issuer URL | --token-endpoint URL) --client-id ID [options]
                                         create an account and sign in
      [--authorization-endpoint URL] [--device-endpoint URL] [--revocation-endpoint URL]
      [--client-secret-stdin] [--scope S]... [--flow browser|device|client-credentials|grant|manual]
      [--grant-type T] [--param k=v]... [--exchange-grant-type T --exchange-param k=v...]
      [--appsecret-proof] [--host H]... [--preset P] [--id ID] [--token-endpoint-auth M]
      [--token-stdin] [--expires-at ISO] [--no-browser] [--json]
  login <account> [--no-browser] [--json]   sign in again
  list [--json]                          accounts and their status
  status <account> [--json]              one account in detail
  token <account> [--min-ttl SECONDS] [--json]
                                         print a valid access token
  refresh <account> [--json]             refresh now
  remove <account> [--keep-remote]       revoke at the provider, then delete every local trace
  run --env VAR=<account>... -- CMD [ARGS]
                                         run CMD with tokens in its environment
  git-credential get|store|erase         git credential helper (accounts with --host)
  kube-credential <account>              print a kubectl ExecCredential
  clients [list|approve ID [--account A]...|deny ID|revoke ID] [--json]
                                         local tools that hold a key
  lock, unlock                           refuse every token request until unlocked (tools exit 7)
  open [--no-browser] [--json]           open the window of the running broker in a browser

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
  // require() reads JSON without the cost of the node:fs module facade.
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}

async function dispatch(command: string, rest: string[], home: string): Promise<number> {
  switch (command) {
    case 'token':
    case 'git-credential':
    case 'kube-credential':
      // bin/tokentray.cjs runs these from their bundle without this module; this is for main()'s own callers.
      return (await import('./tool-commands.ts')).runToolCommand([command, ...rest]);
    case 'serve':
      return (await import('./commands/serve.ts')).serveCommand(home, rest, version());
    case 'add':
      return (await import('./commands/accounts.ts')).addCommand(home, rest);
    case 'login':
      return (await import('./commands/accounts.ts')).loginCommand(home, rest);
    case 'list':
      return (await import('./commands/accounts.ts')).listCommand(home, rest);
    case 'status':
      return (await import('./commands/accounts.ts')).statusCommand(home, rest);
    case 'refresh':
      return (await import('./commands/accounts.ts')).refreshCommand(home, rest);
    case 'remove':
      return (await import('./commands/accounts.ts')).removeCommand(home, rest);
    case 'run':
      return (await import('./commands/run.ts')).runCommand(home, rest);
    case 'open':
      return (await import('./commands/window.ts')).openCommand(home, rest);
    case 'lock':
    case 'unlock':
      return (await import('./commands/window.ts')).lockCommand(home, rest, command === 'lock');
    case 'clients':
      return (await import('./commands/clients.ts')).clientsCommand(home, rest);
    default:
      throw new UsageError(`unknown command "${command}"\nRun "tokentray --help" for the commands.`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(HELP);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  try {
    return await dispatch(first, rest, resolveHome());
  } catch (error) {
    return reportError(error, rest.includes('--json'));
  }
}
