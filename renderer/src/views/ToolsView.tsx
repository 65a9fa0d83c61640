import { useState } from 'react';
import type { ClientInfo } from '../../../shared/broker-api.ts';
import { useApi, useWindow } from '../context.tsx';
import { localTime, relative } from '../format.ts';

function PendingTool({ client }: { client: ClientInfo }) {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const notify = useWindow((s) => s.notify);
  const accounts = useWindow((s) => s.accounts);
  const [limit, setLimit] = useState<string[]>(client.accounts ?? []);
  const toggle = (id: string) => setLimit((l) => (l.includes(id) ? l.filter((x) => x !== id) : [...l, id]));
  const approve = async () => {
    const done = await run(() => api.approveClient({ id: client.id, ...(limit.length ? { accounts: limit } : {}) }), `Could not approve ${client.name}`);
    if (done) notify('info', `${client.name} got its key${limit.length ? ` for ${limit.join(', ')}` : ' for every account'}.`);
  };
  return (
    <li className="tool" data-client-id={client.id} aria-label={`${client.name}, waiting for approval`}>
      <p>
        <strong>{client.name}</strong> asks for a key <span className="hint">({relative(client.createdAt, Date.now())})</span>
      </p>
      <fieldset className="limit">
        <legend>Limit to accounts (none ticked: every account)</legend>
        {Object.values(accounts).map((a) => (
          <label key={a.id} className="check">
            <input type="checkbox" checked={limit.includes(a.id)} onChange={() => toggle(a.id)} /> {a.name}
          </label>
        ))}
      </fieldset>
      <p className="actions">
        <button type="button" onClick={() => void approve()}>
          Approve
        </button>
        <button type="button" className="secondary" onClick={() => void run(() => api.denyClient({ id: client.id }), `Could not deny ${client.name}`)}>
          Deny
        </button>
      </p>
    </li>
  );
}

function ApprovedTool({ client }: { client: ClientInfo }) {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const now = useWindow((s) => s.now);
  return (
    <li className="tool" data-client-id={client.id} aria-label={`${client.name}, approved`}>
      <p>
        <strong>{client.name}</strong> — {client.accounts ? `accounts: ${client.accounts.join(', ')}` : 'every account'}
      </p>
      <p className="hint">
        Approved {localTime(client.createdAt)} · last use: {client.lastUsedAt ? <time dateTime={client.lastUsedAt}>{relative(client.lastUsedAt, now)}</time> : 'never'}
      </p>
      <p className="actions">
        <button type="button" className="danger" onClick={() => void run(() => api.revokeClient({ id: client.id }), `Could not revoke ${client.name}`)}>
          Revoke
        </button>
      </p>
    </li>
  );
}

export function ToolsView() {
  const clients = useWindow((s) => s.clients);
  const pending = clients.filter((c) => c.status === 'pending');
  const approved = clients.filter((c) => c.status === 'approved');
  const past = clients.filter((c) => c.status === 'denied' || c.status === 'revoked');
  return (
    <section aria-labelledby="tools-title">
      <h2 id="tools-title">Local tools</h2>
      <p className="hint">
        A tool asks for a key with <code>POST /v1/clients</code>; it gets one only when you approve it here, in the tray or with <code>tokentray clients approve</code>.
      </p>
      <h3>Waiting for approval</h3>
      {pending.length === 0 ? (
        <p className="empty">No tool is waiting.</p>
      ) : (
        <ul className="tools" aria-label="Waiting for approval">
          {pending.map((c) => (
            <PendingTool key={c.id} client={c} />
          ))}
        </ul>
      )}
      <h3>Approved</h3>
      {approved.length === 0 ? (
        <p className="empty">No tool holds a key.</p>
      ) : (
        <ul className="tools" aria-label="Approved tools">
          {approved.map((c) => (
            <ApprovedTool key={c.id} client={c} />
          ))}
        </ul>
      )}
      {past.length > 0 && (
        <>
          <h3>Denied and revoked</h3>
          <ul className="tools past" aria-label="Denied and revoked tools">
            {past.map((c) => (
              <li key={c.id} data-client-id={c.id}>
                {c.name} — {c.status}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
