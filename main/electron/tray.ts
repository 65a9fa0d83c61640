import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import type { AccountSummary } from '../../shared/ipc.ts';

export type TrayState = 'ok' | 'attention' | 'action';

/** All good, something expiring or retrying, or an account needs the person. */
export function trayState(accounts: AccountSummary[]): TrayState {
  if (accounts.some((a) => a.status === 'reauth_required' || a.status === 'misconfigured')) return 'action';
  if (accounts.some((a) => a.status !== 'valid' || !a.persisted)) return 'attention';
  return 'ok';
}

const COLOURS: Record<TrayState, string> = { ok: '#2e9e44', attention: '#d99a00', action: '#d1312b' };

function icon(state: TrayState): Electron.NativeImage {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="6" fill="${COLOURS[state]}"/></svg>`;
  return nativeImage.createFromDataURL(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
}

export interface TrayActions {
  open(): void;
  quit(): void;
}

export function createTray(actions: TrayActions): { update(accounts: AccountSummary[]): void; tray: Tray } {
  const tray = new Tray(icon('ok'));
  const update = (accounts: AccountSummary[]): void => {
    const state = trayState(accounts);
    tray.setImage(icon(state));
    tray.setToolTip(`Tokentray — ${accounts.length} account${accounts.length === 1 ? '' : 's'}${state === 'ok' ? '' : state === 'action' ? ', action needed' : ', attention'}`);
    const items: MenuItemConstructorOptions[] = accounts.map((a) => ({ label: `${a.name} — ${a.status}`, enabled: false }));
    if (items.length === 0) items.push({ label: 'No accounts yet', enabled: false });
    items.push({ type: 'separator' }, { label: 'Open Tokentray', click: actions.open }, { label: 'Quit', click: actions.quit });
    tray.setContextMenu(Menu.buildFromTemplate(items));
  };
  update([]);
  return { update, tray };
}
