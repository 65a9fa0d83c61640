// What the tray shows, decided by pure functions from the broker's state: the state of the
// icon, its tooltip, the badge count and the menu. The shell only draws what these say.
import type { AccountView } from '../../shared/account-view.ts';
import type { ClientInfo } from '../../shared/broker-api.ts';
import { STATUS_WORDS } from '../../shared/status-words.ts';

export type TrayState = 'ok' | 'attention' | 'action';

export interface TrayInput {
  accounts: AccountView[];
  clients: ClientInfo[];
  locked: boolean;
  now: number;
  /** When each account entered its current status, as the shell saw it (ms). */
  since: Record<string, number>;
}

export type TrayAction =
  | { kind: 'open'; route: string }
  | { kind: 'sign-in'; account: string }
  | { kind: 'lock' }
  | { kind: 'unlock' }
  | { kind: 'quit' };

export type TrayMenuItem = { type: 'separator' } | { type: 'item'; label: string; enabled: boolean; action?: TrayAction };

export interface TrayModel {
  state: TrayState;
  tooltip: string;
  /** Accounts that need the person (sign in again, fix the settings). */
  badge: number;
  menu: TrayMenuItem[];
}

const RETRYING_ATTENTION_MS = 60_000;
/** A token that cannot be renewed is worth a look this long before it expires. */
const UNRENEWABLE_WARNING_MS = 24 * 60 * 60_000;
/** A tray menu is read at a glance: past this many accounts, the window lists the rest. */
export const MENU_ACCOUNTS = 12;

export const needsAction = (a: AccountView): boolean => STATUS_WORDS[a.status].needsPerson;

/** Why an account deserves a look although Tokentray is still coping, or null. */
export function attentionReason(a: AccountView, now: number, since: number | undefined): string | null {
  if (!a.persisted) return 'tokens in memory only';
  if (a.status === 'expired') return 'no valid token';
  if (a.status === 'retrying' && now - (since ?? now) > RETRYING_ATTENTION_MS) return 'provider not answering';
  if (a.flow === 'manual' && a.accessTokenExpiresAt && Date.parse(a.accessTokenExpiresAt) - now < UNRENEWABLE_WARNING_MS) return 'token expires soon and cannot be renewed';
  return null;
}

export function trayState(input: TrayInput): TrayState {
  if (input.accounts.some(needsAction)) return 'action';
  if (input.accounts.some((a) => attentionReason(a, input.now, input.since[a.id]) !== null)) return 'attention';
  return 'ok';
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

export function trayTooltip(input: TrayInput): string {
  const action = input.accounts.filter(needsAction).length;
  const attention = input.accounts.filter((a) => !needsAction(a) && attentionReason(a, input.now, input.since[a.id]) !== null).length;
  const parts: string[] = [];
  if (input.accounts.length === 0) parts.push('no accounts yet');
  else if (action === 0 && attention === 0) parts.push(input.accounts.length === 1 ? 'the account is fine' : `all ${input.accounts.length} accounts are fine`);
  if (action > 0) parts.push(`${plural(action, 'account needs', 'accounts need')} you`);
  if (attention > 0) parts.push(`${plural(attention, 'account needs', 'accounts need')} a look`);
  const pending = input.clients.filter((c) => c.status === 'pending').length;
  if (pending > 0) parts.push(`${plural(pending, 'tool asks', 'tools ask')} for a key`);
  if (input.locked) parts.push('locked');
  return `Tokentray — ${parts.join(', ')}`;
}

function accountLabel(a: AccountView, input: TrayInput): string {
  const reason = needsAction(a) ? null : attentionReason(a, input.now, input.since[a.id]);
  return `${a.name} — ${STATUS_WORDS[a.status].label}${reason ? ` (${reason})` : ''}`;
}

export function trayMenu(input: TrayInput): TrayMenuItem[] {
  // Accounts that need the person first, then those worth a look, then the rest, by name.
  const rank = (a: AccountView) => (needsAction(a) ? 0 : attentionReason(a, input.now, input.since[a.id]) ? 1 : 2);
  const sorted = [...input.accounts].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const items: TrayMenuItem[] = [];
  if (sorted.length === 0) items.push({ type: 'item', label: 'No accounts yet', enabled: false });
  for (const a of sorted.slice(0, MENU_ACCOUNTS)) items.push({ type: 'item', label: accountLabel(a, input), enabled: true, action: { kind: 'open', route: `#/accounts/${a.id}` } });
  if (sorted.length > MENU_ACCOUNTS) items.push({ type: 'item', label: `…and ${sorted.length - MENU_ACCOUNTS} more`, enabled: true, action: { kind: 'open', route: '#/' } });
  const waiting = sorted.filter(needsAction);
  if (waiting.length > 0) items.push({ type: 'separator' });
  for (const a of waiting.slice(0, MENU_ACCOUNTS)) {
    items.push(a.flow === 'manual'
      ? { type: 'item', label: `Paste a new token for ${a.name}…`, enabled: true, action: { kind: 'open', route: `#/accounts/${a.id}` } }
      : { type: 'item', label: `Sign in again to ${a.name}…`, enabled: true, action: { kind: 'sign-in', account: a.id } });
  }
  const pending = input.clients.filter((c) => c.status === 'pending');
  if (pending.length > 0) items.push({ type: 'separator' });
  for (const c of pending.slice(0, MENU_ACCOUNTS)) items.push({ type: 'item', label: `Approve ${c.name}…`, enabled: true, action: { kind: 'open', route: '#/tools' } });
  items.push(
    { type: 'separator' },
    { type: 'item', label: 'Open Tokentray', enabled: true, action: { kind: 'open', route: '#/' } },
    input.locked ? { type: 'item', label: 'Unlock', enabled: true, action: { kind: 'unlock' } } : { type: 'item', label: 'Lock', enabled: true, action: { kind: 'lock' } },
    { type: 'item', label: 'Quit Tokentray', enabled: true, action: { kind: 'quit' } },
  );
  return items;
}

export function trayModel(input: TrayInput): TrayModel {
  return { state: trayState(input), tooltip: trayTooltip(input), badge: input.accounts.filter(needsAction).length, menu: trayMenu(input) };
}
