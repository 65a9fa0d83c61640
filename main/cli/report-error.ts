// How a failed command ends: the message on stderr (and as JSON on stdout with --json), and
// the exit code the contract gives its error (PRODUCT.md "Exit codes").
import { UsageError } from './args.ts';
import { CliError } from './endpoint-client.ts';
import { EXIT } from './exit-codes.ts';

export function reportError(error: unknown, json: boolean): number {
  if (error instanceof UsageError) {
    process.stderr.write(`tokentray: ${error.message}\n`);
    return EXIT.usage;
  }
  const code = error instanceof CliError ? error.code : ((error as { code?: string } | null)?.code ?? 'internal');
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`tokentray: ${message}\n`);
  return error instanceof CliError ? error.exitCode : EXIT.failure;
}
