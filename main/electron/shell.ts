// The desktop shell's behaviour, composed from the broker runtime and the ports object: the
// tray that tells the truth, sign-in prompts and notifications, IPC for the window, resume,
// start at login and a clean quit. No Electron import: app.ts builds the ports.
import type { AccountView } from '../../shared/account-view.ts';
import { BROKER_CALLS, type BrokerEvent, type ClientInfo } from '../../shared/broker-api.ts';
import { IPC_EVENT_CHANNEL, ipcChannel, type IpcAnswer } from '../../shared/ipc.ts';
import { urlProblem } from '../../shared/url-rules.ts';
import type { BrokerRuntime } from '../core/daemon/broker-runtime.ts';
import { answerIpc } from '../core/ui/ipc-answer.ts';
import { decideNotifications, type NotifyMemory } from './notification-policy.ts';
import type { IpcSender, ShellPorts } from './shell-ports.ts';
import { trayModel, type TrayAction } from './tray-model.ts';

export interface ShellOptions {
  /** The origin the window is loaded from (`app://tokentray`): IPC from anything else is refused. */
  appOrigin: string;
  /** Resume events closer than this are one (Electron may fire it twice). */
  resumeDebounceMs?: number;
  /** Notifications arriving within this window are folded into one. */
  foldMs?: number;
  /** How often time-based tray rules (retrying for over a minute) are re-checked. */
  recheckMs?: number;
  now?: () => number;
}

export interface Shell {
  /** The OS says the machine woke up. */
  resume(): void;
  /** A second launch: bring the window forward. */
  secondInstance(): void;
  /** Quit: stop the broker (a write in flight lands first), then exit. */
  quit(): Promise<void>;
  /** Settles once the start-up work (login-item read-back, first notifications) is done. */
  ready: Promise<void>;
}

/** Only the main frame of our own window, loaded from our own origin, may call the broker. */
export function ipcSenderAllowed(sender: IpcSender, appOrigin: string): boolean {
  if (!sender.fromOurWindow || !sender.mainFrame) return false;
  try {
    return new URL(sender.url).origin === appOrigin || sender.url.startsWith(`${appOrigin}/`);
  } catch {
    return false;
  }
}

/** A URL the shell may hand to the system browser: https, or loopback http (REQUIREMENTS 1). */
export function safeToOpen(url: string): boolean {
  return urlProblem(url, 'the URL') === null;
}

export async function startShell(ports: ShellPorts, runtime: Pick<BrokerRuntime, 'service' | 'broker' | 'stop'>, options: ShellOptions): Promise<Shell> {
  const now = options.now ?? Date.now;
  const service = runtime.service;
  const since: Record<string, number> = {};
  const toolsNotified = new Set<string>();
  const traySignIns = new Set<string>();
  let accounts = new Map<string, AccountView>((await service.handlers.listAccounts({})).map((a) => [a.id, a]));
  let clients: ClientInfo[] = await service.handlers.listClients({});
  let overview = await service.handlers.overview({});
  let memory: NotifyMemory = await ports.memory.load().catch(() => ({}));
  for (const id of accounts.keys()) since[id] = now();

  // IPC: one channel per BrokerApi call, refused unless it comes from our window.
  for (const call of BROKER_CALLS) {
    ports.ipc.handle(ipcChannel(call), async (sender, input): Promise<IpcAnswer> => {
      if (!ipcSenderAllowed(sender, options.appOrigin)) {
        ports.log.warn('IPC refused: not from the main frame of Tokentray’s own window', { call, url: sender.url.slice(0, 200) });
        return { ok: false, error: { code: 'forbidden_origin', message: `IPC "${call}" refused: not from Tokentray's own window` } };
      }
      return answerIpc(service, call, input);
    });
  }

  let lastTray = '';
  const renderTray = () => {
    const model = trayModel({ accounts: [...accounts.values()], clients, locked: overview.locked, now: now(), since });
    const key = JSON.stringify(model);
    if (key === lastTray) return;
    lastTray = key;
    ports.tray.render(model);
    ports.app.setBadgeCount(model.badge);
  };

  let foldTimer: ReturnType<typeof setTimeout> | null = null;
  let notifying = Promise.resolve();
  const notifyNow = () => {
    foldTimer = null;
    const newTools = clients.filter((c) => c.status === 'pending' && !toolsNotified.has(c.id));
    for (const c of newTools) toolsNotified.add(c.id);
    const decision = decideNotifications({ accounts: [...accounts.values()], newTools, memory, enabled: overview.settings.notifications && ports.notifications.supported() });
    const changed = JSON.stringify(decision.memory) !== JSON.stringify(memory);
    memory = decision.memory;
    if (changed) notifying = notifying.then(() => ports.memory.save(memory)).catch((error: unknown) => ports.log.warn('could not keep the notification memory', { error: String(error) }));
    for (const note of decision.notes) ports.notifications.show(note, () => ports.windows.show(note.route));
  };
  const scheduleNotify = () => {
    foldTimer ??= setTimeout(notifyNow, options.foldMs ?? 1500);
  };

  const openSignInPage = (url: string) => {
    if (!safeToOpen(url)) {
      ports.log.warn('refused to open a sign-in URL that is neither https nor loopback http', { url: url.slice(0, 200) });
      return;
    }
    void ports.shell.openExternal(url).catch((error: unknown) => ports.log.warn('could not open the browser', { error: String(error) }));
  };

  const onEvent = (event: BrokerEvent) => {
    ports.windows.send(IPC_EVENT_CHANNEL, event);
    switch (event.type) {
      case 'status': {
        const before = accounts.get(event.account.id);
        if (!before || before.status !== event.account.status) since[event.account.id] = now();
        accounts = new Map(accounts).set(event.account.id, event.account);
        break;
      }
      case 'account_removed':
        accounts = new Map(accounts);
        accounts.delete(event.id);
        delete since[event.id];
        break;
      case 'clients':
        clients = event.clients;
        break;
      case 'lock':
        overview = { ...overview, locked: event.locked };
        break;
      case 'settings':
        overview = { ...overview, settings: event.settings };
        void applyStartAtLogin(event.settings.startAtLogin);
        break;
      case 'sign_in':
        // A sign-in the tray started: the shell opens the provider's page in the browser.
        if (traySignIns.has(event.id)) {
          const step = event.step;
          if (step.event === 'authorize') openSignInPage(step.url);
          else if (step.event === 'device_code') {
            openSignInPage(step.verification_uri_complete ?? step.verification_uri);
            ports.windows.show(`#/accounts/${event.id}`); // the code to enter is shown there
          } else traySignIns.delete(event.id);
        }
        break;
      case 'activity':
        return;
    }
    renderTray();
    scheduleNotify();
  };
  service.subscribe(onEvent);

  // Start at login: the OS holds the truth; the setting follows what the OS really does.
  let applying = Promise.resolve();
  const applyStartAtLogin = (wanted: boolean) => {
    applying = applying.then(async () => {
      try {
        if ((await ports.loginItems.get()) !== wanted) await ports.loginItems.set(wanted);
        const real = await ports.loginItems.get();
        if (real !== overview.settings.startAtLogin) await service.handlers.updateSettings({ startAtLogin: real });
      } catch (error) {
        ports.log.warn('could not change start at login', { error: String(error) });
      }
    });
    return applying;
  };

  ports.tray.onAction((action: TrayAction) => {
    switch (action.kind) {
      case 'open':
        ports.windows.show(action.route);
        return;
      case 'sign-in':
        traySignIns.add(action.account);
        void service.handlers.signIn({ id: action.account }).catch((error: unknown) => {
          traySignIns.delete(action.account);
          ports.log.warn('could not start the sign-in', { error: String(error) });
          ports.windows.show(`#/accounts/${action.account}`);
        });
        return;
      case 'lock':
      case 'unlock':
        void service.handlers.setLocked({ locked: action.kind === 'lock' });
        return;
      case 'quit':
        void shell.quit();
        return;
    }
  });

  let resumeTimer: ReturnType<typeof setTimeout> | null = null;
  const recheck = setInterval(renderTray, options.recheckMs ?? 30_000);
  recheck.unref?.();
  let quitting: Promise<void> | null = null;
  const shell: Shell = {
    resume() {
      if (resumeTimer) return; // the second of a pair: the re-check is already planned
      resumeTimer = setTimeout(() => {
        resumeTimer = null;
        void runtime.broker.resume();
      }, options.resumeDebounceMs ?? 2000);
    },
    secondInstance() {
      ports.windows.show('#/');
    },
    quit() {
      quitting ??= (async () => {
        clearInterval(recheck);
        if (foldTimer) clearTimeout(foldTimer);
        if (resumeTimer) clearTimeout(resumeTimer);
        await runtime.stop().catch((error: unknown) => ports.log.warn('the broker did not stop cleanly', { error: String(error) }));
        await notifying;
        ports.app.exit(0);
      })();
      return quitting;
    },
    ready: Promise.resolve(),
  };
  ports.power.onResume(() => shell.resume());
  renderTray();
  notifyNow();
  // At start the OS says what really happens at login (the person may have changed it there).
  applying = (async () => {
    const real = await ports.loginItems.get().catch(() => overview.settings.startAtLogin);
    if (real !== overview.settings.startAtLogin) await service.handlers.updateSettings({ startAtLogin: real }).catch(() => undefined);
  })();
  shell.ready = applying.then(() => notifying);
  return shell;
}
