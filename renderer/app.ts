// The account list. It talks to the broker only through the bridge preload exposes.
import type { AccountSummary, BrokerBridge } from '../shared/ipc.ts';

declare global {
  interface Window {
    tokentray?: BrokerBridge;
  }
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  const span = document.createElement('span');
  span.textContent = text;
  if (className) span.className = className;
  td.append(span);
  return td;
}

export function render(accounts: AccountSummary[], root: Document = document): void {
  const table = root.getElementById('accounts') as HTMLTableElement;
  const body = table.tBodies[0]!;
  body.replaceChildren(
    ...accounts.map((a) => {
      const row = document.createElement('tr');
      row.append(
        cell(a.name),
        cell(a.status.replace('_', ' '), `pill ${a.status}`),
        cell(a.flow),
        cell(a.accessTokenExpiresAt ? new Date(a.accessTokenExpiresAt).toLocaleString() : '—'),
      );
      if (!a.persisted) row.append(cell('in memory only: the keychain is unavailable', 'warn'));
      return row;
    }),
  );
  table.hidden = accounts.length === 0;
  (root.getElementById('empty') as HTMLElement).hidden = accounts.length > 0;
}

async function load(): Promise<void> {
  const error = document.getElementById('error') as HTMLElement;
  try {
    if (!window.tokentray) throw new Error('the broker bridge is missing');
    render(await window.tokentray.listAccounts());
    error.hidden = true;
  } catch (e) {
    error.textContent = `Cannot list accounts: ${e instanceof Error ? e.message : String(e)}`;
    error.hidden = false;
  }
}

void load();
setInterval(() => void load(), 5000);
