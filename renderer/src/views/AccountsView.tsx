import type { AccountView } from '../../../shared/account-view.ts';
import { STATUS_WORDS } from '../../../shared/status-words.ts';
import { needsPerson, RefreshButton, SignInAgainButton } from '../components/AccountActions.tsx';
import { Countdown } from '../components/Countdown.tsx';
import { ErrorHelp } from '../components/ErrorHelp.tsx';
import { SignInProgress } from '../components/SignInProgress.tsx';
import { StatusPill } from '../components/StatusPill.tsx';
import { useWindow } from '../context.tsx';
import { relative } from '../format.ts';
import { hrefFor } from '../route.ts';

function StatusLine({ account }: { account: AccountView }) {
  const now = useWindow((s) => s.now);
  if ((account.status === 'retrying' || account.status === 'expired') && account.nextRefreshAt) {
    return <span className="status-line">Next attempt {relative(account.nextRefreshAt, now)}</span>;
  }
  return null;
}

export function AccountRow({ account }: { account: AccountView }) {
  const label = `${account.name}, ${STATUS_WORDS[account.status].label}`;
  return (
    <li className="account-row" data-account-id={account.id} data-status={account.status} aria-label={label}>
      <div className="row-main">
        <a className="account-name" href={hrefFor({ view: 'account', id: account.id })}>
          {account.name}
        </a>
        <StatusPill status={account.status} />
        <StatusLine account={account} />
        {!account.persisted && <span className="warn-chip">In memory only: the keychain is unavailable</span>}
      </div>
      <div className="row-times">
        <Countdown kind="access" label="Access token" at={account.accessTokenExpiresAt} none={account.status === 'connecting' ? 'not yet issued' : 'no expiry known'} />
        {account.refreshTokenExpiresAt && <Countdown kind="refresh" label="Refresh token" at={account.refreshTokenExpiresAt} none="" />}
      </div>
      {needsPerson(account) && account.lastError && <ErrorHelp code={account.lastError.code} message={account.lastError.message} />}
      <div className="row-actions">
        {needsPerson(account) ? <SignInAgainButton account={account} /> : <RefreshButton account={account} />}
      </div>
      <SignInProgress id={account.id} />
    </li>
  );
}

function AttentionBanner({ accounts }: { accounts: AccountView[] }) {
  const waiting = accounts.filter(needsPerson);
  if (waiting.length === 0) return null;
  return (
    <div className="banner" role="alert">
      <strong>{waiting.length === 1 ? '1 account needs you' : `${waiting.length} accounts need you`}:</strong>{' '}
      {waiting.map((a, i) => (
        <span key={a.id}>
          {i > 0 && ', '}
          <a href={hrefFor({ view: 'account', id: a.id })}>{a.name}</a> ({STATUS_WORDS[a.status].label.toLowerCase()})
        </span>
      ))}
    </div>
  );
}

export function AccountsView() {
  const accounts = useWindow((s) => s.accounts);
  const list = Object.values(accounts).sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="accounts-title">
      <div className="view-head">
        <h2 id="accounts-title">Accounts</h2>
        <a className="button" href={hrefFor({ view: 'add' })}>
          Add account
        </a>
      </div>
      <AttentionBanner accounts={list} />
      {list.length === 0 ? (
        <div className="empty">
          <p>No accounts yet.</p>
          <p>Add one to keep its tokens fresh and hand them to your tools.</p>
        </div>
      ) : (
        <ul className="accounts" aria-label="Accounts">
          {list.map((a) => (
            <AccountRow key={a.id} account={a} />
          ))}
        </ul>
      )}
    </section>
  );
}
