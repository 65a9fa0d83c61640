// When the desktop app raises a native notification, decided by a pure function: once per
// account per episode (never again for the same episode, across restarts and resumes too),
// once per tool request, and folded into one summary when several arrive together.
import type { AccountView } from '../../shared/account-view.ts';
import type { ClientInfo } from '../../shared/broker-api.ts';
import { ERROR_HELP } from '../../shared/error-help.ts';
import { STATUS_WORDS } from '../../shared/status-words.ts';

/** The episode each account was last notified for, by account id (kept across restarts). */
export type NotifyMemory = Record<string, string>;

export interface Note {
  title: string;
  body: string;
  /** Where clicking it opens the window. */
  route: string;
}

/**
 * An episode: one stretch of needing the person. It is named by its status and the time of
 * the error that began it, both kept in accounts.json, so a restart sees the same episode.
 */
export function episodeOf(account: AccountView): string {
  return `${account.status}@${account.lastError?.at ?? 'unknown'}`;
}

export interface NotifyInput {
  accounts: AccountView[];
  /** Tool requests not yet notified. */
  newTools: ClientInfo[];
  memory: NotifyMemory;
  enabled: boolean;
}

export function decideNotifications(input: NotifyInput): { notes: Note[]; memory: NotifyMemory } {
  const memory: NotifyMemory = {};
  const fresh: AccountView[] = [];
  for (const account of input.accounts) {
    if (!STATUS_WORDS[account.status].needsPerson) continue; // the episode is over (or none began)
    const episode = episodeOf(account);
    if (input.memory[account.id] !== episode) fresh.push(account);
    memory[account.id] = episode; // seen, even with notifications off: enabling them later starts no storm
  }
  if (!input.enabled) return { notes: [], memory };
  const notes: Note[] = [
    ...fresh.map((a): Note => {
      const help = a.lastError ? ERROR_HELP[a.lastError.code] : null;
      return a.status === 'misconfigured'
        ? { title: `${a.name} needs fixing`, body: `${help?.meaning ?? 'The provider refuses its settings.'} ${help?.fix ?? ''}`.trim(), route: `#/accounts/${a.id}` }
        : { title: `Sign in again to ${a.name}`, body: `${help?.meaning ?? 'The provider no longer accepts this sign-in.'} Tools get no token for it until you do.`, route: `#/accounts/${a.id}` };
    }),
    ...input.newTools.map((c): Note => ({ title: `${c.name} asks for a key`, body: 'Approve or deny it in Tokentray.', route: '#/tools' })),
  ];
  if (notes.length <= 1) return { notes, memory };
  // Many at once (after a resume from sleep, a provider revoking every grant): one summary.
  const parts: string[] = [];
  if (fresh.length > 0) parts.push(`${fresh.length} account${fresh.length === 1 ? ' needs' : 's need'} you`);
  if (input.newTools.length > 0) parts.push(`${input.newTools.length} tool${input.newTools.length === 1 ? ' asks' : 's ask'} for a key`);
  const names = [...fresh.map((a) => a.name), ...input.newTools.map((c) => c.name)];
  const body = `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}.`;
  return { notes: [{ title: `Tokentray: ${parts.join(' and ')}`, body, route: fresh.length > 0 ? '#/' : '#/tools' }], memory };
}
