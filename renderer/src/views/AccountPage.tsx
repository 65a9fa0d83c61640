import { useEffect, useRef, useState } from 'react';
import type { AccountView } from '../../../shared/account-view.ts';
import type { Claims } from '../../../shared/broker-api.ts';
import { STATUS_WORDS } from '../../../shared/status-words.ts';
import { needsPerson, RefreshButton, SignInAgainButton } from '../components/AccountActions.tsx';
import { Countdown } from '../components/Countdown.tsx';
import { ErrorHelp } from '../components/ErrorHelp.tsx';
import { SignInProgress } from '../components/SignInProgress.tsx';
import { StatusPill } from '../components/StatusPill.tsx';
import { useApi, useWindow } from '../context.tsx';
import { localTime, relative } from '../format.ts';
import { hrefFor, navigate } from '../route.ts';

const FLOW_WORDS: Record<AccountView['flow'], string> = {
  browser: 'Browser sign-in (authorization code + PKCE)',
  device: 'Device code',
  'client-credentials': 'Client credentials (machine account)',
  grant: 'Custom grant',
  manual: 'Pasted token',
};

function providerOf(account: AccountView): string {
  const p = account.provider;
  const where = 'issuer' in p ? p.issuer : 'tokenEndpoint' in p ? p.tokenEndpoint : 'none (pasted token)';
  return p.preset ? `${where} (preset ${p.preset})` : where;
}

function When({ at, none }: { at: string | null; none: string }) {
  const now = useWindow((s) => s.now);
  if (!at) return <>{none}</>;
  return (
    <time dateTime={at} title={localTime(at)}>
      {relative(at, now)}
    </time>
  );
}

function ClaimsPanel({ claims }: { claims: Claims }) {
  const parts = [
    ['Access token', claims.accessToken],
    ['ID token', claims.idToken],
  ] as const;
  return (
    <section className="claims" aria-labelledby="claims-title">
      <h3 id="claims-title">Claims</h3>
      <p className="hint">Decoded on this computer; nothing is sent anywhere.</p>
      {parts.map(([title, decoded]) => (
        <div key={title}>
          <h4>{title}</h4>
          {decoded ? (
            <>
              <pre aria-label={`${title} header`}>{JSON.stringify(decoded.header, null, 2)}</pre>
              <pre aria-label={`${title} claims`}>{JSON.stringify(decoded.claims, null, 2)}</pre>
            </>
          ) : (
            <p>{title === 'Access token' ? 'Not a JWT: this provider issues opaque access tokens.' : 'None.'}</p>
          )}
        </div>
      ))}
    </section>
  );
}

function RemoveButton({ account }: { account: AccountView }) {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const notify = useWindow((s) => s.notify);
  const dialog = useRef<HTMLDialogElement>(null);
  const [keepRemote, setKeepRemote] = useState(false);
  const remove = async () => {
    const result = await run(() => api.removeAccount({ id: account.id, keepRemote }), `Could not remove ${account.name}`);
    dialog.current?.close();
    if (!result) return;
    notify('info', `Removed ${account.name}${result.revoked ? ' and revoked its grant at the provider' : ''}${result.note ? ` (${result.note})` : ''}.`);
    navigate({ view: 'accounts' });
  };
  return (
    <>
      <button type="button" className="danger" onClick={() => dialog.current?.showModal()}>
        Remove
      </button>
      <dialog ref={dialog} aria-labelledby={`remove-${account.id}`}>
        <h3 id={`remove-${account.id}`}>Remove {account.name}?</h3>
        <p>Tokentray revokes its grant at the provider, then deletes its tokens from the keychain and its settings. Tools lose access to it.</p>
        <label className="check">
          <input type="checkbox" checked={keepRemote} onChange={(e) => setKeepRemote(e.target.checked)} /> Keep the grant at the provider (do not revoke)
        </label>
        <p className="actions">
          <button type="button" className="danger" onClick={() => void remove()}>
            Remove account
          </button>
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </p>
      </dialog>
    </>
  );
}

export function AccountPage({ id }: { id: string }) {
  const account = useWindow((s) => s.accounts[id]);
  const api = useApi();
  const run = useWindow((s) => s.run);
  const notify = useWindow((s) => s.notify);
  const locked = useWindow((s) => s.overview?.locked ?? false);
  const [claims, setClaims] = useState<Claims | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [id]);
  useEffect(() => setClaims(null), [account?.accessTokenExpiresAt]);
  if (!account) {
    return (
      <section className="empty">
        <h2>No such account</h2>
        <p>
          It may have been removed. <a href={hrefFor({ view: 'accounts' })}>Back to the accounts</a>
        </p>
      </section>
    );
  }
  const copy = async () => {
    const token = await run(() => api.copyToken({ id }), 'Could not copy the token');
    if (!token) return;
    try {
      await navigator.clipboard.writeText(token.accessToken);
      notify('info', `Token of ${account.name} copied to the clipboard.`);
    } catch (error) {
      notify('error', `The browser refused the clipboard: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const showClaims = async () => {
    const decoded = await run(() => api.claims({ id }), 'Could not read the claims');
    if (decoded) setClaims(decoded);
  };
  return (
    <section aria-labelledby="account-title" className="account-page" data-account-id={account.id} data-status={account.status}>
      <p className="crumbs">
        <a href={hrefFor({ view: 'accounts' })}>Accounts</a> ›
      </p>
      <div className="view-head">
        <h2 id="account-title" tabIndex={-1} ref={heading}>
          {account.name}
        </h2>
        <StatusPill status={account.status} />
      </div>
      <p className="meaning">{STATUS_WORDS[account.status].meaning}</p>
      {!account.persisted && <p className="warn-chip">Tokens are in memory only: the keychain is unavailable. They are lost if Tokentray stops.</p>}
      {account.lastError && (needsPerson(account) || account.status === 'retrying' || account.status === 'expired') && <ErrorHelp code={account.lastError.code} message={account.lastError.message} />}
      <SignInProgress id={account.id} />
      <div className="actions">
        {needsPerson(account) && <SignInAgainButton account={account} />}
        <RefreshButton account={account} />
        <button type="button" className="secondary" onClick={() => void copy()} disabled={locked} title={locked ? 'Unlock Tokentray to copy a token' : undefined}>
          Copy token
        </button>
        <button type="button" className="secondary" onClick={() => void showClaims()}>
          Show claims
        </button>
        {!needsPerson(account) && <SignInAgainButton account={account} />}
        <RemoveButton account={account} />
      </div>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{account.id}</code>
        </dd>
        <dt>Provider</dt>
        <dd className="wrap">{providerOf(account)}</dd>
        <dt>Flow</dt>
        <dd>{FLOW_WORDS[account.flow]}</dd>
        <dt>Scopes</dt>
        <dd>{account.scopes.length ? account.scopes.join(' ') : 'none requested'}</dd>
        <dt>Hosts (git)</dt>
        <dd>{account.hosts.length ? account.hosts.join(', ') : 'none'}</dd>
        <dt>Access token</dt>
        <dd>
          <Countdown kind="access" at={account.accessTokenExpiresAt} none="no expiry known" />
        </dd>
        <dt>Refresh token</dt>
        <dd>
          <Countdown kind="refresh" at={account.refreshTokenExpiresAt} none="no expiry announced" />
        </dd>
        <dt>Last refresh</dt>
        <dd>
          <When at={account.lastRefreshAt} none="never" />
        </dd>
        <dt>Next refresh</dt>
        <dd>
          <When at={account.nextRefreshAt} none="none planned" />
        </dd>
      </dl>
      {claims && <ClaimsPanel claims={claims} />}
    </section>
  );
}
