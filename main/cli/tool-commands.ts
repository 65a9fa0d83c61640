// The commands local tools run on every use — `token`, `git-credential`, `kube-credential` —
// and nothing else: no broker code, no schema library, no node:http. `npm run build` bundles
// this file into one CommonJS file (dist/cli/tool-commands.cjs) that bin/tokentray.cjs loads
// without starting the ES module loader: measured, that is what brings `tokentray token` from
// about 1.6 × `node -e 0` to about 1.35 × (bench/token-latency.ts).
import { resolveHome } from '../core/config.ts';
import { gitCredentialCommand, kubeCredentialCommand } from './commands/credential-helpers.ts';
import { tokenCommand } from './commands/token.ts';
import { reportError } from './report-error.ts';

type Command = (home: string, argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = { token: tokenCommand, 'git-credential': gitCredentialCommand, 'kube-credential': kubeCredentialCommand };

export function isToolCommand(command: string | undefined): boolean {
  return command !== undefined && Object.hasOwn(COMMANDS, command);
}

/** Runs one tool command (`argv` starts with its name) and returns the exit code. */
export async function runToolCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    return await COMMANDS[command!]!(resolveHome(), rest);
  } catch (error) {
    return reportError(error, rest.includes('--json'));
  }
}
