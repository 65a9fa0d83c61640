// Small output helpers shared by the commands (no schema library: the CLI starts fast).
import { ERROR_HELP } from '../../shared/error-help.ts';
import type { ErrorCode } from '../../shared/errors.ts';
export interface AccountLike {
  id: string;
  name: string;
  status: string;
  flow: string;
  accessTokenExpiresAt: string | null;
  refreshTokenExpiresAt: string | null;
  nextRefreshAt: string | null;
  lastError: { code: string; message: string } | null;
  persisted: boolean;
  hosts: string[];
  scopes: string[];
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function until(iso: string | null): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - Date.now();
  if (ms <= 0) return 'expired';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function expiry(iso: string | null): string {
  if (!iso) return 'no known expiry';
  return Date.parse(iso) <= Date.now() ? `expired at ${iso}` : `expires in ${until(iso)} (${iso})`;
}

export function accountLine(a: AccountLike): string {
  const warn = a.persisted ? '' : '  [in memory only: the keychain is unavailable]';
  return `${a.id.padEnd(20)} ${a.status.padEnd(16)} token ${until(a.accessTokenExpiresAt).padEnd(8)} ${a.name}${warn}`;
}

export function accountDetails(a: AccountLike): string {
  const lines = [
    `${a.name} (${a.id})`,
    `  status:          ${a.status}`,
    `  flow:            ${a.flow}`,
    `  access token:    ${expiry(a.accessTokenExpiresAt)}`,
    `  refresh token:   ${expiry(a.refreshTokenExpiresAt)}`,
    `  next refresh:    ${a.nextRefreshAt ?? '—'}`,
    `  scopes:          ${a.scopes.join(' ') || '—'}`,
    `  hosts:           ${a.hosts.join(' ') || '—'}`,
    `  persisted:       ${a.persisted ? 'yes (OS keychain)' : 'NO — tokens are in memory only; the keychain is unavailable'}`,
  ];
  if (a.lastError) {
    lines.push(`  last error:      ${a.lastError.code}: ${a.lastError.message}`);
    const help = ERROR_HELP[a.lastError.code as ErrorCode] as { fix: string } | undefined;
    if (help) lines.push(`  what to do:      ${help.fix}`);
  }
  return lines.join('\n');
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
