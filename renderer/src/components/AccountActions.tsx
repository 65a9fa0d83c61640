import type { AccountView } from '../../../shared/account-view.ts';
import { STATUS_WORDS } from '../../../shared/status-words.ts';
import { useApi, useWindow } from '../context.tsx';

/** Whether the person has to act: the broker cannot fix this one alone. */
export const needsPerson = (account: AccountView): boolean => STATUS_WORDS[account.status].needsPerson;

export function RefreshButton({ account }: { account: AccountView }) {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const notify = useWindow((s) => s.notify);
  if (account.flow === 'manual') return null;
  return (
    <button type="button" className="secondary" onClick={() => void run(() => api.refresh({ id: account.id }), `Could not refresh ${account.name}`).then((v) => v && notify('info', `${account.name} refreshed`))}>
      Refresh
    </button>
  );
}

export function SignInAgainButton({ account }: { account: AccountView }) {
  const signIn = useWindow((s) => s.signIn);
  const busy = useWindow((s) => {
    const step = s.signIns[account.id];
    return step !== undefined && step.event !== 'failed' && step.event !== 'connected';
  });
  // A manual account gets a new token pasted in (`tokentray login --token-stdin`), not a sign-in.
  if (account.flow === 'manual' || busy) return null;
  return (
    <button type="button" className={needsPerson(account) ? undefined : 'secondary'} onClick={() => void signIn(account.id)}>
      Sign in again
    </button>
  );
}
