import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { flags, parseArgs, UsageError } from '../args.ts';
import { fetchToken } from './token.ts';

/** `run --env VAR=account... -- CMD`: tokens go into the child's environment only. */
export async function runCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['env'], booleans: [] });
  if (args.rest.length === 0 || flags(args, 'env').length === 0 || args.positionals.length > 0) {
    throw new UsageError('usage: tokentray run --env VAR=<account>... -- CMD [ARGS]');
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const item of flags(args, 'env')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(item);
    if (!match) throw new UsageError(`--env takes VAR=<account>, got "${item}"`);
    env[match[1]!] = (await fetchToken(home, match[2]!)).access_token;
  }
  const [command, ...commandArgs] = args.rest;
  return new Promise((resolve) => {
    const child = spawn(command!, commandArgs, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      process.stderr.write(`tokentray: cannot run ${command}: ${error.message}\n`);
      resolve(127);
    });
    // A child killed by a signal ends us the way a shell reports it: 128 + the signal's number.
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 1) : 1)));
  });
}
