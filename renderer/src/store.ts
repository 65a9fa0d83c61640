// The window's state: a small vanilla zustand store with slices and actions, fed by BrokerApi
// calls and the broker's live events. It never holds a refresh token (none reaches it) nor an
// access token (Copy token hands one straight to the clipboard).
import { createStore } from 'zustand/vanilla';
import type { AccountView } from '../../shared/account-view.ts';
import type { ActivityEntry, BrokerApi, BrokerEvent, ClientInfo, Overview, SignInStep } from '../../shared/broker-api.ts';
import { TokentrayError } from '../../shared/errors.ts';
import { slugify } from '../../shared/account-id.ts';
import type { AddAccountRequest } from '../../shared/api.ts';

/** loading → ready; `signed_out` when the web session ended, `gone` while the broker is away. */
export type Phase = 'loading' | 'ready' | 'signed_out' | 'gone' | 'error';

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export interface WindowState {
  phase: Phase;
  problem: string | null;
  accounts: Record<string, AccountView>;
  clients: ClientInfo[];
  activity: ActivityEntry[];
  overview: Overview | null;
  /** The latest step of each sign-in started from this window, by account id. */
  signIns: Record<string, SignInStep | { event: 'starting' }>;
  notices: Notice[];
  /** The clock the countdowns read, ticking once a second. */
  now: number;
}

export interface WindowActions {
  start(): () => void;
  reload(): Promise<void>;
  notify(kind: Notice['kind'], text: string): void;
  dismiss(id: number): void;
  /** Runs a call and turns a failure into a notice (and the right phase); resolves with null then. */
  run<T>(action: () => Promise<T>, failure: string): Promise<T | null>;
  signIn(id: string): Promise<void>;
  /** Adds the account and follows its first sign-in; resolves with the account, or null (a notice says why). */
  addAccount(request: AddAccountRequest): Promise<AccountView | null>;
  forgetSignIn(id: string): void;
  noteSignInStart(id: string): void;
}

export type WindowStore = ReturnType<typeof createWindowStore>;

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createWindowStore(api: BrokerApi) {
  let noticeIds = 0;
  return createStore<WindowState & WindowActions>()((set, get) => {
    const phaseFor = (error: unknown): Phase | null => {
      if (error instanceof TokentrayError && error.code === 'unauthorized') return 'signed_out';
      if (error instanceof TokentrayError && error.code === 'broker_not_running') return 'gone';
      return null;
    };

    const apply = (event: BrokerEvent): void => {
      switch (event.type) {
        case 'status':
          set((s) => ({ accounts: { ...s.accounts, [event.account.id]: event.account } }));
          return;
        case 'account_removed':
          set((s) => {
            const { [event.id]: _gone, ...accounts } = s.accounts;
            return { accounts };
          });
          return;
        case 'sign_in': {
          const step = event.step;
          // "Connected" is good news to read, not to keep: it goes by itself.
          if (step.event === 'connected') setTimeout(() => get().signIns[event.id] === step && get().forgetSignIn(event.id), 8000);
          set((s) => ({
            signIns: { ...s.signIns, [event.id]: step },
            ...(step.event === 'connected' ? { accounts: { ...s.accounts, [event.id]: step.account } } : {}),
          }));
          return;
        }
        case 'clients':
          set({ clients: event.clients });
          return;
        case 'activity':
          set((s) => ({ activity: [event.entry, ...s.activity].slice(0, 500) }));
          return;
        case 'lock':
          set((s) => (s.overview ? { overview: { ...s.overview, locked: event.locked } } : {}));
          return;
        case 'settings':
          set((s) => (s.overview ? { overview: { ...s.overview, settings: event.settings } } : {}));
          return;
      }
    };

    return {
      phase: 'loading',
      problem: null,
      accounts: {},
      clients: [],
      activity: [],
      overview: null,
      signIns: {},
      notices: [],
      now: Date.now(),

      start() {
        const tick = setInterval(() => set({ now: Date.now() }), 1000);
        let first = true;
        const stop = api.subscribe(apply, (state) => {
          if (state === 'open') {
            // (Re)connected: what happened while away is read afresh.
            if (!first || get().phase !== 'loading') void get().reload();
            first = false;
          } else if (get().phase !== 'signed_out') {
            set({ phase: 'gone' });
            void api.overview({}).catch((error: unknown) => {
              if (phaseFor(error) === 'signed_out') set({ phase: 'signed_out' });
            });
          }
        });
        void get().reload();
        return () => {
          clearInterval(tick);
          stop();
        };
      },

      async reload() {
        try {
          const [overview, accounts, clients, activity] = await Promise.all([api.overview({}), api.listAccounts({}), api.listClients({}), api.activity({ limit: 200 })]);
          set({ phase: 'ready', problem: null, overview, clients, activity, accounts: Object.fromEntries(accounts.map((a) => [a.id, a])) });
        } catch (error) {
          set({ phase: phaseFor(error) ?? 'error', problem: reason(error) });
        }
      },

      notify(kind, text) {
        const id = ++noticeIds;
        set((s) => ({ notices: [...s.notices, { id, kind, text }].slice(-4) }));
        setTimeout(() => get().dismiss(id), kind === 'error' ? 12_000 : 5_000);
      },

      dismiss(id) {
        set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
      },

      async run(action, failure) {
        try {
          return await action();
        } catch (error) {
          const phase = phaseFor(error);
          if (phase) set({ phase });
          get().notify('error', `${failure}: ${reason(error)}`);
          return null;
        }
      },

      async signIn(id) {
        get().noteSignInStart(id);
        const started = await get().run(() => api.signIn({ id }), 'Could not start the sign-in');
        if (!started) get().forgetSignIn(id);
      },

      async addAccount(request) {
        // Noted before the call: the broker starts the sign-in as it answers, and its first step
        // (the device code, or a quick failure) can arrive on the event stream before the answer
        // does. Noted after, "starting" overwrote that step and the wizard waited for ever.
        const id = request.id ?? slugify(request.name);
        get().noteSignInStart(id);
        const created = await get().run(() => api.addAccount(request), 'Could not add the account');
        if (!created && get().signIns[id]?.event === 'starting') get().forgetSignIn(id);
        return created;
      },

      noteSignInStart(id) {
        set((s) => ({ signIns: { ...s.signIns, [id]: { event: 'starting' } } }));
      },

      forgetSignIn(id) {
        set((s) => {
          const { [id]: _done, ...signIns } = s.signIns;
          return { signIns };
        });
      },
    };
  });
}
