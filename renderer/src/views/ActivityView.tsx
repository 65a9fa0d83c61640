import { useState } from 'react';
import { useWindow } from '../context.tsx';
import { localTime } from '../format.ts';

const ROUTE_WORDS: Record<string, string> = { token: 'got a token', copy: 'copied a token' };

export function ActivityView() {
  const activity = useWindow((s) => s.activity);
  const clients = useWindow((s) => s.clients);
  const accounts = useWindow((s) => s.accounts);
  const [account, setAccount] = useState('');
  const [tool, setTool] = useState('');
  const toolName = (id: string): string => (id === 'owner' ? 'Tokentray CLI' : id === 'window' ? 'This window' : (clients.find((c) => c.id === id)?.name ?? id));
  const tools = [...new Set(activity.map((e) => e.client))];
  const accountIds = [...new Set([...Object.keys(accounts), ...activity.map((e) => e.account)])];
  const rows = activity.filter((e) => (!account || e.account === account) && (!tool || e.client === tool));
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <div className="filters">
        <label>
          Account{' '}
          <select value={account} onChange={(e) => setAccount(e.target.value)}>
            <option value="">All accounts</option>
            {accountIds.map((id) => (
              <option key={id} value={id}>
                {accounts[id]?.name ?? id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Tool{' '}
          <select value={tool} onChange={(e) => setTool(e.target.value)}>
            <option value="">All tools</option>
            {tools.map((id) => (
              <option key={id} value={id}>
                {toolName(id)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {rows.length === 0 ? (
        <p className="empty">{activity.length === 0 ? 'No tool has asked for a token yet.' : 'Nothing matches these filters.'}</p>
      ) : (
        <table className="activity" aria-label="Activity log, newest first">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Tool</th>
              <th scope="col">Account</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e, i) => (
              <tr key={`${e.at}-${i}`}>
                <td>
                  <time dateTime={e.at}>{localTime(e.at)}</time>
                </td>
                <td>{toolName(e.client)}</td>
                <td>{accounts[e.account]?.name ?? e.account}</td>
                <td>{ROUTE_WORDS[e.route] ?? e.route}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
