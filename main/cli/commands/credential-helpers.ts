// Credential helpers that git and kubectl run on every use; bundled into the fast path
// (main/cli/tool-commands.ts), so they import no more than the token command does.
import { findPreset } from '../../core/oauth/presets.ts';
import { UsageError } from '../args.ts';
import { call, TOOL_TIMEOUT_MS } from '../endpoint-client.ts';
import { readStdin } from '../output.ts';
import { fetchToken } from './token.ts';

interface GitAccount {
  id: string;
  hosts: string[];
  provider: { preset: string | null };
}

function parseCredentialInput(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1).replace(/\r$/, '');
  }
  return out;
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p.includes(':')) return p === h; // example.com:8443 matches only that port
  return p === h || h.startsWith(`${p}:`); // example.com matches any port
}

/** git credential helper: `get` answers for accounts that list the host; store/erase write nothing. */
export async function gitCredentialCommand(home: string, argv: string[]): Promise<number> {
  const [operation, ...extra] = argv;
  if (!operation || extra.length > 0 || !['get', 'store', 'erase'].includes(operation)) throw new UsageError('usage: tokentray git-credential get|store|erase');
  const input = parseCredentialInput(await readStdin());
  // store and erase: git offers us what it used; Tokentray never keeps secrets outside the keychain.
  if (operation !== 'get') return 0;
  if (input['protocol'] && input['protocol'] !== 'https' && input['protocol'] !== 'http') return 0;
  const host = input['host'];
  if (!host) return 0;
  // git waits for us: the list and the token share the tools' one deadline.
  const started = Date.now();
  const { body } = await call(home, 'GET', '/v1/accounts', undefined, { timeoutMs: TOOL_TIMEOUT_MS });
  const account = (body as { accounts: GitAccount[] }).accounts.find((a) => a.hosts.some((p) => hostMatches(p, host)));
  if (!account) return 0; // not ours: git asks the next helper
  const token = await fetchToken(home, account.id, undefined, Math.max(1_000, TOOL_TIMEOUT_MS - (Date.now() - started)));
  // The username the provider expects next to an OAuth token over git's HTTPS (preset data).
  const username = findPreset(account.provider.preset ?? undefined)?.gitUsername ?? input['username'] ?? 'oauth2';
  process.stdout.write(`username=${username}\npassword=${token.access_token}\n`);
  return 0;
}

/** kubectl exec credential plugin output (client.authentication.k8s.io/v1). */
export async function kubeCredentialCommand(home: string, argv: string[]): Promise<number> {
  const [account, ...extra] = argv;
  if (!account || extra.length > 0) throw new UsageError('usage: tokentray kube-credential <account>');
  const token = await fetchToken(home, account);
  const status: Record<string, string> = { token: token.access_token };
  if (token.expires_at) status['expirationTimestamp'] = new Date(token.expires_at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  process.stdout.write(`${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status })}\n`);
  return 0;
}
