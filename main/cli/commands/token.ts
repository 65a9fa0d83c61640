// The hot path: `tokentray token <account>` — endpoint.json, one request, print.
import { flag, has, parseArgs, UsageError } from '../args.ts';
import { call, TOOL_TIMEOUT_MS } from '../endpoint-client.ts';
import { printJson } from '../output.ts';

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_at: string | null;
  expires_in: number | null;
  scope: string;
  account: string;
  appsecret_proof?: string;
}

export async function fetchToken(home: string, account: string, minTtl?: string, timeoutMs = TOOL_TIMEOUT_MS): Promise<TokenBody> {
  if (minTtl !== undefined && !/^\d{1,6}$/.test(minTtl)) throw new UsageError('--min-ttl takes a number of seconds');
  const query = minTtl === undefined ? '' : `?min_ttl=${minTtl}`;
  const { body } = await call(home, 'GET', `/v1/accounts/${encodeURIComponent(account)}/token${query}`, undefined, { timeoutMs });
  return body as TokenBody;
}

export async function tokenCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['min-ttl'], booleans: ['json'] });
  const [account, ...extra] = args.positionals;
  if (!account || extra.length > 0) throw new UsageError('usage: tokentray token <account> [--min-ttl SECONDS] [--json]');
  const token = await fetchToken(home, account, flag(args, 'min-ttl'));
  if (has(args, 'json')) printJson(token);
  else process.stdout.write(`${token.access_token}\n`);
  return 0;
}
