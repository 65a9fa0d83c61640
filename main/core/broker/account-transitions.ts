import type { AccountStatus } from '../../../shared/status.ts';

/**
 * The rules of one account's life, as data: which status follows which event, and what a
 * command does while another operation of the same account runs. `AccountMachine` applies
 * them; the README shows them (rendered by `transitionTableMarkdown`, checked by a test).
 */

/** What happened to an account. */
export type AccountEvent =
  | 'signed_in'
  | 'refresh_started'
  | 'refreshed'
  | 'refresh_failed'
  | 'grant_ended'
  | 'refused'
  | 'cannot_renew'
  | 'record_damaged'
  | 'record_missing'
  | 'keychain_unreadable'
  | 'token_expired'
  | 'reconfigured'
  | 'checked';

/** What is true of the account's stored tokens when the event happens. */
export interface Facts {
  /** The stored access token is still valid. */
  tokenValid: boolean;
}

interface Transition {
  from: readonly AccountStatus[];
  /** The next status; `[valid, invalid]` when it depends on whether the access token is still valid. */
  to: AccountStatus | readonly [AccountStatus, AccountStatus];
  why: string;
}

const LIVE = ['valid', 'refreshing', 'retrying', 'expired'] as const;
const ANY = ['connecting', ...LIVE, 'reauth_required', 'misconfigured'] as const;

export const TRANSITIONS: Readonly<Record<AccountEvent, Transition>> = {
  signed_in: { from: ANY, to: 'valid', why: 'a sign-in stored a new grant (it replaces whatever was there)' },
  refresh_started: { from: LIVE, to: 'refreshing', why: 'a refresh was sent (scheduled, on demand, keep-alive or after a sleep)' },
  refreshed: { from: ['refreshing'], to: 'valid', why: 'the provider answered with new tokens, now in the keychain' },
  refresh_failed: { from: ['refreshing'], to: ['retrying', 'expired'], why: 'a transient failure (5xx, 429, timeout, network): back off, keep the refresh token' },
  grant_ended: { from: ['refreshing'], to: 'reauth_required', why: 'the provider ended the grant (invalid_grant)' },
  refused: { from: ['refreshing'], to: 'misconfigured', why: 'the provider refused the client or request (invalid_client, invalid_scope, …)' },
  cannot_renew: { from: LIVE, to: 'reauth_required', why: 'the access token expired and nothing can renew it (no refresh token)' },
  record_damaged: { from: ANY, to: 'reauth_required', why: 'the stored record fails its checksum or no longer parses' },
  record_missing: { from: LIVE, to: 'reauth_required', why: 'the keychain answers but holds no record for it (its tokens lived in memory only, with no keychain, or were removed)' },
  keychain_unreadable: { from: LIVE, to: 'expired', why: 'the keychain does not answer, so no token can be read (read again when the keychain answers; tokens held in memory are still served)' },
  token_expired: { from: ['retrying'], to: 'expired', why: 'the access token ran out while refreshes keep failing' },
  reconfigured: { from: ['misconfigured'], to: ['valid', 'expired'], why: 'the person fixed the configuration; the next refresh proves it' },
  checked: { from: LIVE, to: ['valid', 'expired'], why: 'start, resume or re-check: the stored tokens say which (a broker that died mid-refresh left refreshing)' },
};

/** The status after `event`, or null when the event does not apply in `current` (it is ignored). */
export function nextStatus(current: AccountStatus, event: AccountEvent, facts: Facts): AccountStatus | null {
  const rule = TRANSITIONS[event];
  if (!rule.from.includes(current)) return null;
  return typeof rule.to === 'string' ? rule.to : rule.to[facts.tokenValid ? 0 : 1];
}

/** Operations of one account that take time. */
export type Operation = 'sign_in' | 'refresh' | 'remove';

/** Requests to an account's machine. */
export type Command = 'refresh' | 'sign_in' | 'sign_in_done' | 'reconfigure' | 'remove';

/**
 * What a command does while an operation runs:
 * - `run`: goes ahead, alongside;
 * - `join`: shares the operation in flight (its result is the command's);
 * - `cancel`: ends the running operation first, then goes ahead;
 * - `after`: waits for the running operation to land, then goes ahead;
 * - `supersede`: goes ahead; the running operation's result is discarded when it lands —
 *   neither stored nor revoked (some providers end every grant of the user and client together);
 * - `refuse`: fails at once (`account_not_found`);
 * - `discard`: what it brought is revoked and nothing is kept.
 */
export type Decision = 'run' | 'join' | 'cancel' | 'after' | 'supersede' | 'refuse' | 'discard';

export const DECISIONS: Readonly<Record<Operation, Readonly<Record<Command, Decision>>>> = {
  sign_in: { refresh: 'run', sign_in: 'cancel', sign_in_done: 'run', reconfigure: 'run', remove: 'cancel' },
  refresh: { refresh: 'join', sign_in: 'run', sign_in_done: 'supersede', reconfigure: 'after', remove: 'after' },
  remove: { refresh: 'refuse', sign_in: 'refuse', sign_in_done: 'discard', reconfigure: 'refuse', remove: 'join' },
};

/** Which running operation decides, when several run at once (a removal outranks all). */
const PRECEDENCE: readonly Operation[] = ['remove', 'refresh', 'sign_in'];

/** The decision for `command` given the operations running now (`run` when none is). */
export function decide(command: Command, running: ReadonlySet<Operation>): Decision {
  const op = PRECEDENCE.find((o) => running.has(o) && !(o === 'sign_in' && command === 'sign_in_done'));
  return op ? DECISIONS[op][command] : 'run';
}

/** Both tables as Markdown, for the README. */
export function transitionTableMarkdown(): string {
  const status = (s: Transition['to']) => (typeof s === 'string' ? `\`${s}\`` : `\`${s[0]}\` (token still valid) / \`${s[1]}\``);
  const from = (f: readonly AccountStatus[]) => (f.length === ANY.length ? 'any' : f.map((s) => `\`${s}\``).join(', '));
  const lines = ['| event | from | to | when |', '| --- | --- | --- | --- |'];
  for (const [event, rule] of Object.entries(TRANSITIONS)) lines.push(`| \`${event}\` | ${from(rule.from)} | ${status(rule.to)} | ${rule.why} |`);
  lines.push('', `| while ↓ / command → | ${Object.keys(DECISIONS.refresh).map((c) => `\`${c}\``).join(' | ')} |`, `| --- |${' --- |'.repeat(Object.keys(DECISIONS.refresh).length)}`);
  for (const op of PRECEDENCE) lines.push(`| \`${op}\` | ${Object.values(DECISIONS[op]).join(' | ')} |`);
  return lines.join('\n');
}
