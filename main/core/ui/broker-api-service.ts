import { brokerApiContract, type BrokerCall, type BrokerEvent, type CallOutput, type CallParsedInput, type RecoveredFile, type SignInStep } from '../../../shared/broker-api.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Broker } from '../broker/broker.ts';
import { asTokentrayError } from '../broker/values.ts';
import type { ClientRegistry } from '../clients/client-registry.ts';
import type { LockSwitch } from '../daemon/lock-switch.ts';
import type { Logger } from '../log/logger.ts';
import type { Vault } from '../vault/vault.ts';
import { accountDefinitionFrom } from '../accounts/new-account.ts';
import { decodeForDisplay } from './decode-jwt.ts';
import type { SettingsStore } from './settings-store.ts';
import { systemNow } from '../clock.ts';

export type BrokerApiHandlers = { [C in BrokerCall]: (input: CallParsedInput<C>) => Promise<CallOutput<C>> };

export interface BrokerApiServiceOptions {
  broker: Broker;
  vault: Vault;
  clients: ClientRegistry;
  audit: AuditLog;
  lock: LockSwitch;
  settings: SettingsStore;
  logger: Logger;
  version: string;
  /** Data files found damaged at start and moved aside. */
  recovered?: RecoveredFile[];
}

/** Who the activity log names when the person copies a token from the window. */
export const WINDOW_CLIENT = 'window';

/**
 * The broker's side of BrokerApi, shared by both transports (web mode's `/ui/api/*` and the
 * Electron IPC handlers): each call parses its input, and `invoke` checks the answer against
 * the contract before it leaves, so no field (a refresh token least of all) can slip out.
 */
export class BrokerApiService {
  readonly #o: BrokerApiServiceOptions;
  readonly #listeners = new Set<(event: BrokerEvent) => void>();
  /** The newest sign-in the window started per account: only it may report a failure. */
  readonly #signIns = new Map<string, number>();
  #signInSeq = 0;
  readonly handlers: BrokerApiHandlers;

  constructor(options: BrokerApiServiceOptions) {
    this.#o = options;
    const { broker, clients, audit, lock, settings } = options;
    broker.onStatus((change) => this.#emit({ type: 'status', previous: change.previous, account: change.account }));
    broker.onRemoved((id) => this.#emit({ type: 'account_removed', id }));
    clients.onChange(() => this.#emit({ type: 'clients', clients: clients.list() }));
    audit.onRecord((entry) => this.#emit({ type: 'activity', entry }));
    lock.onChange((locked) => this.#emit({ type: 'lock', locked }));
    settings.onChange((value) => this.#emit({ type: 'settings', settings: value }));
    this.handlers = {
      overview: async () => ({ version: options.version, recovered: options.recovered ?? [], locked: lock.locked, settings: settings.current, keychain: options.vault.status().lastError?.code !== 'keychain_unavailable' }),
      listAccounts: async () => broker.list(),
      getAccount: async ({ id }) => broker.view(id),
      addAccount: async (input) => {
        const view = await broker.addAccount(accountDefinitionFrom(input), { clientSecret: input.clientSecret ?? null });
        this.#emit({ type: 'status', previous: null, account: view });
        this.#startSignIn(view.id, { first: true, ...(input.token ? { token: input.token } : {}), ...(input.expiresAt ? { expiresAt: new Date(input.expiresAt) } : {}) });
        return view;
      },
      signIn: async ({ id }) => {
        const account = broker.view(id);
        if (account.flow === 'manual') throw new TokentrayError('bad_request', 'a manual account is signed in again by pasting a new token: use "tokentray login --token-stdin"');
        this.#startSignIn(id, { first: false });
        return { started: true as const };
      },
      cancelSignIn: async ({ id }) => ({ cancelled: broker.cancelSignIn(id) }),
      refresh: async ({ id }) => broker.refresh(id),
      copyToken: async ({ id }) => {
        if (lock.locked) throw new TokentrayError('locked', 'Tokentray is locked: unlock it to copy a token');
        const token = await broker.getToken(id);
        await audit.record({ at: systemNow().toISOString(), account: id, client: WINDOW_CLIENT, route: 'copy' });
        return { accessToken: token.accessToken, expiresAt: token.expiresAt };
      },
      claims: async ({ id }) => {
        broker.view(id); // 404 for an unknown account
        const record = await options.vault.read(id);
        return { accessToken: decodeForDisplay(record?.accessToken ?? null), idToken: decodeForDisplay(record?.idToken ?? null) };
      },
      removeAccount: async ({ id, keepRemote }) => ({ removed: true as const, ...(await broker.remove(id, { keepRemote })) }),
      listClients: async () => clients.list(),
      approveClient: async ({ id, accounts }) => {
        for (const account of accounts ?? []) broker.view(account); // each must exist
        return clients.approve(id, accounts);
      },
      denyClient: async ({ id }) => clients.deny(id),
      revokeClient: async ({ id }) => clients.revoke(id),
      activity: async ({ account, client, limit }) => {
        const entries = await audit.recent(5000);
        return entries.filter((e) => (account === undefined || e.account === account) && (client === undefined || e.client === client)).slice(0, limit);
      },
      setLocked: async ({ locked }) => {
        lock.set(locked);
        return { locked: lock.locked };
      },
      updateSettings: async (change) => settings.update(change),
    };
  }

  /** One call from a transport: input parsed from `unknown`, output checked against the contract. */
  async invoke(call: BrokerCall, raw: unknown): Promise<unknown> {
    const contract = brokerApiContract[call];
    const parsed = contract.input.safeParse(raw ?? {});
    if (!parsed.success) throw new TokentrayError('bad_request', `${call}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
    const handler = this.handlers[call] as (input: unknown) => Promise<unknown>;
    return contract.output.parse(await handler(parsed.data));
  }

  subscribe(listener: (event: BrokerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: BrokerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#o.logger.error({ err: error }, 'a window event listener failed');
      }
    }
  }

  /**
   * Runs a sign-in in the background and reports each step. A first sign-in that fails (or
   * that the person cancels) removes the half-made account, as `tokentray add` does.
   */
  #startSignIn(id: string, options: { first: boolean; token?: string; expiresAt?: Date }): void {
    const mine = ++this.#signInSeq;
    this.#signIns.set(id, mine);
    const step = (value: SignInStep) => this.#emit({ type: 'sign_in', id, step: value });
    void (async () => {
      try {
        const account = await this.#o.broker.signIn(id, { noBrowser: true, onEvent: step, ...(options.token ? { token: options.token } : {}), ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) });
        if (this.#signIns.get(id) === mine) this.#signIns.delete(id);
        step({ event: 'connected', account });
      } catch (error) {
        if (this.#signIns.get(id) !== mine) return; // a newer sign-in took over: it reports
        this.#signIns.delete(id);
        const failure = asTokentrayError(error);
        let removed = false;
        if (options.first) {
          removed = await this.#o.broker.remove(id, { keepRemote: true }).then(() => true, () => false);
        }
        step({ event: 'failed', error: { code: failure.code, message: failure.message }, removed });
        if (!removed) this.#emitAccount(id);
      }
    })();
  }

  /** The account as it is now (its last error changed without a change of status). */
  #emitAccount(id: string): void {
    try {
      this.#emit({ type: 'status', previous: null, account: this.#o.broker.view(id) });
    } catch {
      // removed meanwhile
    }
  }
}
