// The desktop shell composed against a recording stand-in for its Electron ports and a real
// broker runtime (real provider, real keychain): what the tray, notifications and IPC do.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBrokerRuntime, type BrokerRuntime } from '../../main/core/daemon/broker-runtime.ts';
import { createLogger } from '../../main/core/log/logger.ts';
import { xdgLoginItems } from '../../main/electron/autostart.ts';
import { fileNotifyMemory } from '../../main/electron/notify-memory.ts';
import type { Note } from '../../main/electron/notification-policy.ts';
import type { IpcSender, ShellPorts } from '../../main/electron/shell-ports.ts';
import { startShell, type Shell } from '../../main/electron/shell.ts';
import type { TrayAction, TrayModel } from '../../main/electron/tray-model.ts';
import { curl } from '../fixtures/daemon.ts';
import { privateService, realKeychain, secretToolAccounts } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';
import { eventually } from '../fixtures/broker-harness.ts';

const ORIGIN = 'app://tokentray';

/** The ports object, recording what the shell asks of Electron. */
function recordingPorts(home: string, xdg: string) {
  const rec = {
    trays: [] as TrayModel[],
    notes: [] as Array<Note & { click: () => void }>,
    windows: [] as string[],
    sent: [] as unknown[],
    opened: [] as string[],
    exits: [] as number[],
    badges: [] as number[],
    handlers: new Map<string, (sender: IpcSender, input: unknown) => Promise<unknown>>(),
    act: (_action: TrayAction) => undefined as void,
    resume: () => undefined as void,
    get tray(): TrayModel {
      return this.trays.at(-1)!;
    },
    item(label: RegExp) {
      const found = this.tray.menu.find((i) => i.type === 'item' && label.test(i.label));
      assert.ok(found && found.type === 'item' && found.action, `no menu item ${label} in ${JSON.stringify(this.tray.menu)}`);
      return found.action;
    },
  };
  const ports: ShellPorts = {
    platform: 'linux',
    app: { exit: (code) => rec.exits.push(code), setBadgeCount: (n) => rec.badges.push(n) },
    tray: { render: (model) => rec.trays.push(model), onAction: (listener) => { rec.act = listener; } },
    notifications: { supported: () => true, show: (note, click) => rec.notes.push({ ...note, click }) },
    windows: { show: (route) => rec.windows.push(route), send: (_channel, payload) => rec.sent.push(payload) },
    ipc: { handle: (channel, handler) => rec.handlers.set(channel, handler) },
    shell: { openExternal: async (url) => { rec.opened.push(url); } },
    loginItems: xdgLoginItems(['/opt/tokentray/tokentray'], { XDG_CONFIG_HOME: xdg }),
    memory: fileNotifyMemory(home),
    power: { onResume: (listener) => { rec.resume = listener; } },
    log: { warn: () => undefined },
  };
  return { ports, rec };
}

describe('the desktop shell against a real broker', () => {
  let op: TestProvider;
  let runtime: BrokerRuntime;
  let shell: Shell;
  let home: string;
  let xdg: string;
  let rec: ReturnType<typeof recordingPorts>['rec'];
  const service = privateService('shell');
  const { logger, redactor } = createLogger({ level: 'warn' });
  const start = async () => {
    runtime = await startBrokerRuntime({ home, keychainService: service, version: 'test', logger, redactor, browser: { open: async () => undefined }, watchSleep: false });
    const made = recordingPorts(home, xdg);
    rec = made.rec;
    shell = await startShell(made.ports, runtime, { appOrigin: ORIGIN, foldMs: 300, resumeDebounceMs: 300 });
    await shell.ready;
  };

  before(async () => {
    op = await TestProvider.start();
    home = await mkdtemp(join(tmpdir(), 'tt-shell-'));
    xdg = await mkdtemp(join(tmpdir(), 'tt-shell-xdg-'));
    await start();
  });
  after(async () => {
    await runtime?.stop();
    for (const name of await secretToolAccounts(service).catch(() => [])) await realKeychain(service).delete(name).catch(() => undefined);
    await op?.close();
  });

  test('a revoked grant: tray "action needed", one notification; "Sign in again…" opens the sign-in; completed, the tray is ok again', async () => {
    const view = await runtime.broker.addAccount({ id: 'work', name: 'Work', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await runtime.broker.signIn(view.id, { noBrowser: true, onEvent: (e) => { if (e.event === 'authorize') void op.signIn(e.url); } });
    await eventually('the tray is ok', async () => rec.tray.state === 'ok' && rec.tray.tooltip === 'Tokentray — the account is fine');
    await op.revokeGrantOf(op.issuedRefreshTokens.at(-1)!);
    await runtime.broker.refresh('work').catch(() => undefined);
    await eventually('action needed', async () => rec.tray.state === 'action');
    assert.equal(rec.tray.badge, 1);
    assert.equal(rec.badges.at(-1), 1);
    await eventually('one notification', async () => rec.notes.length === 1);
    assert.equal(rec.notes[0]!.title, 'Sign in again to Work');
    rec.notes[0]!.click();
    assert.equal(rec.windows.at(-1), '#/accounts/work', 'clicking it opens the account');
    rec.act(rec.item(/^Sign in again to Work…$/));
    await eventually('the sign-in URL was opened in the browser', async () => rec.opened.length === 1);
    assert.match(rec.opened[0]!, new RegExp(`^${op.issuer}/auth\\?`));
    await op.signIn(rec.opened[0]!);
    await eventually('the tray is ok again', async () => rec.tray.state === 'ok');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(rec.notes.length, 1, 'no second notification');
  });

  test('the same episode is not notified again after a restart', async () => {
    await op.revokeGrantOf(op.issuedRefreshTokens.at(-1)!);
    await runtime.broker.refresh('work').catch(() => undefined);
    await eventually('a notification for the new episode', async () => rec.notes.length === 2);
    await runtime.stop();
    await start();
    assert.equal(rec.tray.state, 'action', 'the restarted tray says so at once');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(rec.notes, [], 'nothing notified twice');
  });

  test('a tool asks for a key: a notification and an "Approve…" item that opens the window on it', async () => {
    const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"deploy script"}', `${runtime.api.url}/v1/clients`]);
    await eventually('the tool notification', async () => rec.notes.some((n) => n.title === 'deploy script asks for a key'));
    rec.act(rec.item(/^Approve deploy script…$/));
    assert.equal(rec.windows.at(-1), '#/tools');
    const pending = (await runtime.service.handlers.listClients({})).find((c) => c.status === 'pending')!;
    await runtime.service.handlers.denyClient({ id: pending.id });
    assert.equal((await asking).status, 403);
  });

  test('Lock and Unlock from the tray', async () => {
    rec.act(rec.item(/^Lock$/));
    await eventually('locked', async () => runtime.lock.locked);
    const locked = await curl(['-H', `Authorization: Bearer ${runtime.ownerKey}`, `${runtime.api.url}/v1/accounts/work/token`]);
    assert.equal(locked.status, 423);
    await eventually('the tray offers Unlock', async () => rec.tray.menu.some((i) => i.type === 'item' && i.label === 'Unlock'));
    assert.match(rec.tray.tooltip, /locked/);
    rec.act(rec.item(/^Unlock$/));
    await eventually('unlocked', async () => !runtime.lock.locked);
  });

  test('resume fired twice runs one re-check; a second instance focuses the window', async () => {
    let resumes = 0;
    const real = runtime.broker.resume.bind(runtime.broker);
    runtime.broker.resume = async () => { resumes++; await real(); };
    rec.resume();
    rec.resume();
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(resumes, 1);
    shell.secondInstance();
    assert.equal(rec.windows.at(-1), '#/');
  });

  test('IPC: the window’s own call is served; another frame or origin is refused', async () => {
    const handler = rec.handlers.get('broker:listAccounts')!;
    assert.equal(rec.handlers.size, 17, 'one channel per BrokerApi call');
    const own = (await handler({ fromOurWindow: true, mainFrame: true, url: `${ORIGIN}/index.html#/` }, {})) as { ok: boolean; value: Array<{ id: string }> };
    assert.equal(own.ok, true);
    assert.deepEqual(own.value.map((a) => a.id), ['work']);
    for (const sender of [{ fromOurWindow: true, mainFrame: false, url: `${ORIGIN}/index.html` }, { fromOurWindow: true, mainFrame: true, url: 'https://evil.example/' }, { fromOurWindow: false, mainFrame: true, url: `${ORIGIN}/index.html` }]) {
      assert.deepEqual(await handler(sender, {}), { ok: false, error: { code: 'forbidden_origin', message: 'IPC "listAccounts" refused: not from Tokentray\'s own window' } });
    }
    const bad = (await rec.handlers.get('broker:getAccount')!({ fromOurWindow: true, mainFrame: true, url: `${ORIGIN}/index.html` }, { id: 42 })) as { ok: false; error: { code: string } };
    assert.equal(bad.error.code, 'bad_request', 'inputs are parsed');
  });

  test('start at login: the XDG autostart file is written, read back, and its removal is seen', async () => {
    await runtime.service.handlers.updateSettings({ startAtLogin: true });
    const items = xdgLoginItems(['/opt/tokentray/tokentray'], { XDG_CONFIG_HOME: xdg });
    await eventually('the autostart entry exists', () => items.get());
    await runtime.service.handlers.updateSettings({ startAtLogin: false });
    await eventually('the autostart entry is gone', async () => !(await items.get()));
    await items.set(true); // the person turned it on outside Tokentray
    await runtime.stop();
    await start();
    assert.equal(runtime.settings.current.startAtLogin, true, 'the setting shows what the OS really does');
  });

  test('quit lets the broker stop cleanly, then exits', async () => {
    await shell.quit();
    assert.deepEqual(rec.exits, [0]);
    const health = await fetch(`${runtime.api.url}/v1/health`).then(() => 'answered', () => 'closed');
    assert.equal(health, 'closed');
    await start(); // for after()
  });
});
