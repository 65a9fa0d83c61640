import type { AccountDefinition } from '../../../shared/account.ts';
import { ConcurrencyLimit } from '../oauth/concurrency-limit.ts';
import { OAuthClient } from '../oauth/oauth-client.ts';
import type { Vault } from '../vault/vault.ts';

export interface ProviderClientsOptions {
  vault: Vault;
  now: () => Date;
  /** Each HTTP request to a provider is abandoned after this long. */
  timeoutMs: number;
  fetch?: typeof fetch | undefined;
  /** Token requests that may run at once toward one provider. */
  concurrency: number;
}

/**
 * One OAuth client per account (rebuilt when its configuration changes), and one concurrency
 * limit per provider — by issuer, or by token endpoint origin — shared by all its accounts.
 */
export class ProviderClients {
  readonly #options: ProviderClientsOptions;
  readonly #clients = new Map<string, OAuthClient>();
  readonly #limits = new Map<string, ConcurrencyLimit>();

  constructor(options: ProviderClientsOptions) {
    this.#options = options;
  }

  async clientFor(account: AccountDefinition): Promise<OAuthClient> {
    let client = this.#clients.get(account.id);
    if (!client || configKey(client.account) !== configKey(account)) {
      const record = await this.#options.vault.read(account.id).catch(() => null);
      const { timeoutMs, now, fetch } = this.#options;
      const vault = this.#options.vault;
      const refreshFetch = (presented: string, ms: number) => vault.refreshFetch(account.id, presented, ms);
      client = new OAuthClient({ account, clientSecret: record?.clientSecret ?? null, timeoutMs, now, limit: this.#limitFor(account), refreshFetch, ...(fetch ? { fetch } : {}) });
      this.#clients.set(account.id, client);
    }
    return client;
  }

  /** The account's client is built afresh next time (its secret or configuration changed, or it is gone). */
  forget(id: string): void {
    this.#clients.delete(id);
  }

  /** The most token requests that ran at once toward any one provider (for measurements). */
  get peakConcurrency(): number {
    return Math.max(0, ...[...this.#limits.values()].map((l) => l.peak));
  }

  #limitFor(account: AccountDefinition): ConcurrencyLimit {
    const p = account.provider;
    const key = p.issuer ?? (p.tokenEndpoint ? safeOrigin(p.tokenEndpoint) : null) ?? `preset:${p.preset ?? account.id}`;
    let limit = this.#limits.get(key);
    if (!limit) {
      limit = new ConcurrencyLimit(this.#options.concurrency);
      this.#limits.set(key, limit);
    }
    return limit;
  }
}

function safeOrigin(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** An account's configuration without its changing state: a client is rebuilt only when this changes. */
function configKey(account: AccountDefinition): string {
  return JSON.stringify({ ...account, state: null });
}
