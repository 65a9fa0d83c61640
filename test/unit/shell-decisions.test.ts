import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccountView } from '../../shared/account-view.ts';
import type { ClientInfo } from '../../shared/broker-api.ts';
import { ACCOUNT_STATUSES, type AccountStatus } from '../../shared/status.ts';
import { decideNotifications, episodeOf, type NotifyMemory } from '../../main/electron/notification-policy.ts';
import { ipcSenderAllowed, safeToOpen } from '../../main/electron/shell.ts';
import { MENU_ACCOUNTS, trayModel, type TrayInput, type TrayMenuItem } from '../../main/electron/tray-model.ts';
import { autostartEntry } from '../../main/electron/autostart.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');

function account(id: string, status: AccountStatus, extra: Partial<AccountView> = {}): AccountView {
  return {
    id, name: id.toUpperCase(), status, flow: 'browser', provider: { issuer: 'https://login.example.com', preset: null }, scopes: [], hosts: [],
    accessTokenExpiresAt: new Date(NOW + 3_600_000).toISOString(), refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null,
    lastError: status === 'reauth_required' || status === 'misconfigured' || status === 'retrying' ? { code: status === 'misconfigured' ? 'misconfigured' : status === 'retrying' ? 'provider_unavailable' : 'invalid_grant', message: 'x', at: '2026-12-02T11:59:00.000Z' } : null,
    persisted: true, ...extra,
  };
}
const input = (accounts: AccountView[], extra: Partial<TrayInput> = {}): TrayInput => ({ accounts, clients: [], locked: false, now: NOW, since: {}, ...extra });
const labels = (menu: TrayMenuItem[]) => menu.map((i) => (i.type === 'separator' ? '---' : i.label));
const tool = (id: string, name: string): ClientInfo => ({ id, name, status: 'pending', accounts: null, createdAt: new Date(NOW).toISOString(), lastUsedAt: null });

describe('the tray tells the truth', () => {
  test('each status: refreshing alone is fine; retrying over a minute, expired, memory-only and unrenewable tokens want a look; sign-in and settings need action', () => {
    const expected: Record<AccountStatus, string> = { connecting: 'ok', valid: 'ok', refreshing: 'ok', retrying: 'ok', expired: 'attention', reauth_required: 'action', misconfigured: 'action' };
    for (const status of ACCOUNT_STATUSES) assert.equal(trayModel(input([account('a', status)])).state, expected[status], status);
    assert.equal(trayModel(input([account('a', 'retrying')], { since: { a: NOW - 61_000 } })).state, 'attention', 'retrying for over a minute');
    assert.equal(trayModel(input([account('a', 'retrying')], { since: { a: NOW - 30_000 } })).state, 'ok', 'a short hiccup is no news');
    assert.equal(trayModel(input([account('a', 'valid', { persisted: false })])).state, 'attention');
    assert.equal(trayModel(input([account('a', 'valid', { flow: 'manual', accessTokenExpiresAt: new Date(NOW + 3_600_000).toISOString() })])).state, 'attention', 'expiring with no way to renew');
    assert.equal(trayModel(input([account('a', 'valid', { flow: 'manual', accessTokenExpiresAt: null })])).state, 'ok', 'a pasted token without expiry');
  });

  test('tooltip, badge and menu', () => {
    const empty = trayModel(input([]));
    assert.equal(empty.state, 'ok');
    assert.equal(empty.tooltip, 'Tokentray — no accounts yet');
    assert.deepEqual(labels(empty.menu), ['No accounts yet', '---', 'Open Tokentray', 'Lock', 'Quit Tokentray']);
    const model = trayModel(input([account('ok', 'valid'), account('gone', 'reauth_required'), account('pat', 'reauth_required', { flow: 'manual' }), account('cfg', 'misconfigured')], { clients: [tool('c_aaaaaaaaaaaa', 'deploy')], locked: true }));
    assert.equal(model.state, 'action');
    assert.equal(model.badge, 3);
    assert.equal(model.tooltip, 'Tokentray — 3 accounts need you, 1 tool asks for a key, locked');
    assert.deepEqual(labels(model.menu), [
      'CFG — Needs fixing', 'GONE — Sign-in needed', 'PAT — Sign-in needed', 'OK — Valid', '---',
      'Sign in again to CFG…', 'Sign in again to GONE…', 'Paste a new token for PAT…', '---',
      'Approve deploy…', '---', 'Open Tokentray', 'Unlock', 'Quit Tokentray',
    ]);
    const signIn = model.menu.find((i) => i.type === 'item' && i.label === 'Sign in again to GONE…');
    assert.deepEqual(signIn?.type === 'item' ? signIn.action : null, { kind: 'sign-in', account: 'gone' });
    assert.equal(trayModel(input([account('a', 'valid'), account('b', 'refreshing')])).tooltip, 'Tokentray — all 2 accounts are fine');
  });

  test('1,000 accounts: a menu a person can read, the ones needing action first, in well under 50 ms', () => {
    const many = Array.from({ length: 1000 }, (_, i) => account(`acct-${String(i).padStart(4, '0')}`, i % 100 === 7 ? 'reauth_required' : 'valid'));
    const started = performance.now();
    const model = trayModel(input(many));
    const ms = performance.now() - started;
    assert.ok(ms < 50, `${ms.toFixed(1)} ms`);
    assert.equal(model.badge, 10);
    const items = labels(model.menu);
    assert.ok(items.length < 2 * MENU_ACCOUNTS + 10, `${items.length} items`);
    assert.match(items[0]!, /Sign-in needed/);
    assert.ok(items.includes(`…and ${1000 - MENU_ACCOUNTS} more`));
    assert.equal(items.filter((l) => l.startsWith('Sign in again')).length, 10);
  });
});

describe('notifications: once per episode, folded, never a storm', () => {
  test('one account: one notification, never again for the same episode, again for a new one', () => {
    const gone = account('gone', 'reauth_required');
    const first = decideNotifications({ accounts: [gone], newTools: [], memory: {}, enabled: true });
    assert.equal(first.notes.length, 1);
    assert.equal(first.notes[0]!.title, 'Sign in again to GONE');
    assert.equal(first.notes[0]!.route, '#/accounts/gone');
    assert.deepEqual(decideNotifications({ accounts: [gone], newTools: [], memory: first.memory, enabled: true }).notes, [], 'the same episode');
    // After a restart the memory comes back from its file: the JSON round trip is all it has.
    const restarted = JSON.parse(JSON.stringify(first.memory)) as NotifyMemory;
    assert.deepEqual(decideNotifications({ accounts: [gone], newTools: [], memory: restarted, enabled: true }).notes, [], 'not again after a restart');
    const fixed = decideNotifications({ accounts: [account('gone', 'valid')], newTools: [], memory: restarted, enabled: true });
    assert.deepEqual(fixed.memory, {}, 'the episode ended');
    const later = account('gone', 'reauth_required', { lastError: { code: 'invalid_grant', message: 'x', at: '2026-12-03T08:00:00.000Z' } });
    assert.notEqual(episodeOf(later), episodeOf(gone));
    const again = decideNotifications({ accounts: [later], newTools: [], memory: fixed.memory, enabled: true });
    assert.equal(again.notes.length, 1, 'a new episode is news');
  });

  test('50 accounts failing at once after a resume: one summary', () => {
    const failing = Array.from({ length: 50 }, (_, i) => account(`a${i}`, 'reauth_required'));
    const decision = decideNotifications({ accounts: failing, newTools: [tool('c_bbbbbbbbbbbb', 'deploy')], memory: {}, enabled: true });
    assert.equal(decision.notes.length, 1);
    assert.equal(decision.notes[0]!.title, 'Tokentray: 50 accounts need you and 1 tool asks for a key');
    assert.match(decision.notes[0]!.body, /A0, A1, A2, A3, A4 and 46 more\./);
    assert.equal(Object.keys(decision.memory).length, 50);
    assert.deepEqual(decideNotifications({ accounts: failing, newTools: [], memory: decision.memory, enabled: true }).notes, []);
  });

  test('misconfigured says what to fix; a tool asking is news; switched off, nothing shows and nothing piles up', () => {
    const cfg = decideNotifications({ accounts: [account('cfg', 'misconfigured')], newTools: [], memory: {}, enabled: true });
    assert.equal(cfg.notes[0]!.title, 'CFG needs fixing');
    assert.match(cfg.notes[0]!.body, /Fix the client id, secret/);
    assert.deepEqual(decideNotifications({ accounts: [], newTools: [tool('c_cccccccccccc', 'ci')], memory: {}, enabled: true }).notes, [{ title: 'ci asks for a key', body: 'Approve or deny it in Tokentray.', route: '#/tools' }]);
    const off = decideNotifications({ accounts: [account('x', 'reauth_required')], newTools: [], memory: {}, enabled: false });
    assert.deepEqual(off.notes, []);
    assert.deepEqual(decideNotifications({ accounts: [account('x', 'reauth_required')], newTools: [], memory: off.memory, enabled: true }).notes, [], 'turning them on later starts no storm');
  });
});

describe('shell guards', () => {
  test('IPC only from the main frame of our own window on app://tokentray', () => {
    const origin = 'app://tokentray';
    assert.equal(ipcSenderAllowed({ fromOurWindow: true, mainFrame: true, url: 'app://tokentray/index.html#/' }, origin), true);
    assert.equal(ipcSenderAllowed({ fromOurWindow: true, mainFrame: false, url: 'app://tokentray/index.html' }, origin), false, 'a sub-frame');
    assert.equal(ipcSenderAllowed({ fromOurWindow: false, mainFrame: true, url: 'app://tokentray/index.html' }, origin), false, 'another window');
    assert.equal(ipcSenderAllowed({ fromOurWindow: true, mainFrame: true, url: 'https://evil.example/' }, origin), false, 'navigated away');
    assert.equal(ipcSenderAllowed({ fromOurWindow: true, mainFrame: true, url: 'app://tokentray.evil/x' }, origin), false);
    assert.equal(ipcSenderAllowed({ fromOurWindow: true, mainFrame: true, url: '' }, origin), false);
  });
  test('the browser opens only https and loopback http (REQUIREMENTS 1)', () => {
    assert.equal(safeToOpen('https://login.example.com/authorize?x=1'), true);
    assert.equal(safeToOpen('http://127.0.0.1:5000/device'), true);
    assert.equal(safeToOpen('http://login.example.com/authorize'), false);
    assert.equal(safeToOpen('file:///etc/passwd'), false);
    assert.equal(safeToOpen('javascript:alert(1)'), false);
  });
  test('the XDG autostart entry quotes its command', () => {
    const entry = autostartEntry(['/opt/Tokentray/tokentray', '/home/a b/app']);
    assert.match(entry, /^\[Desktop Entry\]\nType=Application\nName=Tokentray\n/);
    assert.match(entry, /^Exec=\/opt\/Tokentray\/tokentray "\/home\/a b\/app"$/m);
  });
});
