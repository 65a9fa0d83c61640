import { useEffect, useRef } from 'react';
import { useApi, useWindow } from './context.tsx';
import { hrefFor, useRoute, type Route } from './route.ts';
import { AccountPage } from './views/AccountPage.tsx';
import { AccountsView } from './views/AccountsView.tsx';
import { ActivityView } from './views/ActivityView.tsx';
import { AddAccountView } from './views/AddAccountView.tsx';
import { SettingsView } from './views/SettingsView.tsx';
import { ToolsView } from './views/ToolsView.tsx';

function LockButton() {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const locked = useWindow((s) => s.overview?.locked ?? false);
  return (
    <button type="button" className={locked ? 'lock locked' : 'lock secondary'} onClick={() => void run(() => api.setLocked({ locked: !locked }), locked ? 'Could not unlock' : 'Could not lock')}>
      {locked ? 'Unlock' : 'Lock'}
    </button>
  );
}

function Nav({ route }: { route: Route }) {
  const pending = useWindow((s) => s.clients.filter((c) => c.status === 'pending').length);
  const items: Array<[Route, string]> = [
    [{ view: 'accounts' }, 'Accounts'],
    [{ view: 'add' }, 'Add account'],
    [{ view: 'tools' }, 'Local tools'],
    [{ view: 'activity' }, 'Activity'],
    [{ view: 'settings' }, 'Settings'],
  ];
  const current = route.view === 'account' ? 'accounts' : route.view;
  return (
    <nav aria-label="Main">
      <ul>
        {items.map(([target, label]) => (
          <li key={target.view}>
            <a href={hrefFor(target)} aria-current={current === target.view ? 'page' : undefined}>
              {label}
              {target.view === 'tools' && pending > 0 && (
                <span className="badge" aria-label={`${pending} waiting`}>
                  {pending}
                </span>
              )}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Notices() {
  const notices = useWindow((s) => s.notices);
  const dismiss = useWindow((s) => s.dismiss);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <p key={n.id} className={`notice notice-${n.kind}`}>
          {n.text}{' '}
          <button type="button" className="link" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </p>
      ))}
    </div>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'accounts':
      return <AccountsView />;
    case 'account':
      return <AccountPage id={route.id} />;
    case 'add':
      return <AddAccountView />;
    case 'tools':
      return <ToolsView />;
    case 'activity':
      return <ActivityView />;
    case 'settings':
      return <SettingsView />;
  }
}

/** What the window shows when it cannot show the broker's state. */
function Blocked() {
  const phase = useWindow((s) => s.phase);
  const problem = useWindow((s) => s.problem);
  const reload = useWindow((s) => s.reload);
  switch (phase) {
    case 'loading':
      return (
        <p className="state" role="status">
          Loading…
        </p>
      );
    case 'signed_out':
      return (
        <div className="state" role="alert">
          <h2>This window is not signed in</h2>
          <p>
            Its session ended (after 12 hours without use, or because Tokentray restarted). Run <code>tokentray open</code> in a terminal for a new link.
          </p>
        </div>
      );
    case 'error':
      return (
        <div className="state" role="alert">
          <h2>Tokentray could not load</h2>
          <p>{problem}</p>
          <button type="button" onClick={() => void reload()}>
            Try again
          </button>
        </div>
      );
    default:
      return null;
  }
}

export function App() {
  const route = useRoute();
  const phase = useWindow((s) => s.phase);
  const locked = useWindow((s) => s.overview?.locked ?? false);
  const keychain = useWindow((s) => s.overview?.keychain ?? true);
  const recovered = useWindow((s) => s.overview?.recovered);
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = route.view === 'accounts' ? 'Tokentray' : `Tokentray — ${route.view === 'account' ? route.id : route.view}`;
  }, [route]);
  const ready = phase === 'ready' || phase === 'gone';
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <h1>Tokentray</h1>
        {ready && <Nav route={route} />}
        {ready && <LockButton />}
      </header>
      {phase === 'gone' && (
        <p className="gone" role="alert">
          Tokentray is not answering: the broker stopped or is restarting. Reconnecting…
        </p>
      )}
      {ready && locked && (
        <p className="locked-banner" role="status">
          Locked: no tool gets a token until you unlock. Tokens are still refreshed.
        </p>
      )}
      {ready && !keychain && (
        <p className="locked-banner" role="status">
          The OS keychain is unavailable: tokens are kept in memory only and are lost when Tokentray stops.
        </p>
      )}
      {ready && recovered?.map((r) => (
        <p key={r.file} className="locked-banner" role="status">
          {r.message} Moved to <code>{r.movedTo}</code>.
        </p>
      ))}
      <main id="main" ref={main} tabIndex={-1}>
        {ready ? <View route={route} /> : <Blocked />}
      </main>
      <Notices />
    </>
  );
}
