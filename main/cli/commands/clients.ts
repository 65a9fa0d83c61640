import { flags, has, parseArgs, UsageError } from '../args.ts';
import { call } from '../endpoint-client.ts';
import { printJson } from '../output.ts';

interface ClientLike {
  id: string;
  name: string;
  status: string;
  accounts: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
}

function line(c: ClientLike): string {
  return `${c.id}  ${c.status.padEnd(9)} ${c.name}  accounts: ${c.accounts?.join(',') ?? 'all'}  last use: ${c.lastUsedAt ?? 'never'}`;
}

export async function clientsCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['account'], booleans: ['json'] });
  const [action = 'list', id, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError('usage: tokentray clients [list|approve ID [--account A]...|deny ID|revoke ID] [--json]');
  if (action === 'list') {
    const { body } = await call(home, 'GET', '/v1/clients');
    const clients = (body as { clients: ClientLike[] }).clients;
    if (has(args, 'json')) printJson(body);
    else process.stdout.write(clients.length === 0 ? 'No local tools have asked for a key.\n' : `${clients.map(line).join('\n')}\n`);
    return 0;
  }
  if (!id || !['approve', 'deny', 'revoke'].includes(action)) throw new UsageError('usage: tokentray clients [list|approve ID [--account A]...|deny ID|revoke ID]');
  const accounts = flags(args, 'account');
  const { body } =
    action === 'revoke'
      ? await call(home, 'DELETE', `/v1/clients/${encodeURIComponent(id)}`)
      : await call(home, 'POST', `/v1/clients/${encodeURIComponent(id)}/${action}`, action === 'approve' && accounts.length > 0 ? { accounts } : {});
  if (has(args, 'json')) printJson(body);
  else process.stdout.write(`${line(body as ClientLike)}\n`);
  return 0;
}
