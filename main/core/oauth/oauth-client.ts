import * as oidc from 'openid-client';
import type { AccountDefinition } from '../../../shared/account.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import { toGrantResult, type GrantResult } from './grant-result.ts';
import { fillTemplate, findPreset } from './presets.ts';
import type { ConcurrencyLimit } from './concurrency-limit.ts';
import { ProviderError, toProviderError } from './provider-error.ts';
import { newProbe, probes, type ResponseProbe } from './request-sent.ts';
import { boundedResponse, MAX_PROVIDER_BODY_BYTES, rebuiltResponse } from './bounded-body.ts';
import { issuedRefreshToken, withUsableLifetimes } from './token-body.ts';
import { assertSafeUrl, isLoopbackHost } from './url-policy.ts';
import { systemFetch } from '../clock.ts';
import { timeoutSignal } from '../deadline.ts';

export interface OAuthClientOptions {
  account: AccountDefinition;
  clientSecret: string | null;
  /** Every HTTP request to the provider is abandoned after this long. */
  timeoutMs: number;
  now: () => Date;
  /** How HTTP requests reach the provider (openid-client's customFetch); the global fetch by default. */
  fetch?: typeof fetch;
  /** Shared by every account of the same provider: how many token requests may run at once. */
  limit?: ConcurrencyLimit;
  /**
   * How a refresh request is sent when it should survive a crash of this process (the
   * keychain's process sends it and journals a rotated refresh token; see KeychainStore.fetchFor).
   * Not used when `fetch` is given (a test or an embedder decides how requests go).
   */
  refreshFetch?: (presented: string, timeoutMs: number) => typeof fetch | null;
}

/**
 * One account's view of its provider through openid-client v6: discovery or explicit
 * endpoints, client authentication, and each grant, with every failure classified.
 */
export class OAuthClient {
  readonly account: AccountDefinition;
  readonly #secret: string | null;
  readonly #timeoutMs: number;
  readonly #now: () => Date;
  readonly #send: typeof fetch;
  readonly #limit: ConcurrencyLimit | null;
  readonly #refreshFetch: OAuthClientOptions['refreshFetch'] | null;
  #config: Promise<oidc.Configuration> | null = null;

  constructor(options: OAuthClientOptions) {
    this.account = options.account;
    this.#secret = options.clientSecret;
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now;
    this.#send = options.fetch ?? systemFetch;
    this.#limit = options.limit ?? null;
    this.#refreshFetch = options.fetch ? null : (options.refreshFetch ?? null);
  }

  /** Scopes as configured, or the preset's defaults. */
  get scopes(): string[] {
    return this.account.scopes.length > 0 ? this.account.scopes : (findPreset(this.account.provider.preset)?.defaultScopes ?? []);
  }

  get isOidc(): boolean {
    return this.#issuer() !== undefined;
  }

  configuration(): Promise<oidc.Configuration> {
    this.#config ??= this.#configure().catch((error: unknown) => {
      this.#config = null; // a failed discovery is tried again next time
      throw error;
    });
    return this.#config;
  }

  refresh(refreshToken: string): Promise<GrantResult> {
    // No scope parameter: a refreshed grant can never gain scopes (RFC 6749 §6).
    const via = this.#refreshFetch?.(refreshToken, this.#timeoutMs) ?? null;
    return this.#call('refresh', (config) => oidc.refreshTokenGrant(config, refreshToken), undefined, via);
  }

  clientCredentials(): Promise<GrantResult> {
    const scope = this.scopes.join(' ');
    return this.#call('client credentials grant', (config) => oidc.clientCredentialsGrant(config, scope ? { scope } : {}), { scope });
  }

  customGrant(grantType: string, params: Record<string, string>): Promise<GrantResult> {
    const body: Record<string, string> = { ...params };
    if (this.account.tokenEndpointAuth === 'client_secret_post' || findPreset(this.account.provider.preset)?.tokenEndpointAuth === 'client_secret_post') {
      body['client_id'] ??= this.account.clientId ?? '';
    }
    return this.#call(`${grantType} grant`, (config) => oidc.genericGrantRequest(config, grantType, body), { scope: body['scope'] });
  }

  /** The post-login exchange: `{access_token}` in a parameter value stands for the token just received. */
  exchange(accessToken: string): Promise<GrantResult> {
    const exchange = this.account.exchange;
    if (!exchange) throw new TokentrayError('internal', 'this account has no exchange step');
    const params = Object.fromEntries(Object.entries(exchange.params).map(([k, v]) => [k, v.split('{access_token}').join(accessToken)]));
    return this.customGrant(exchange.grantType, params);
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
    await this.#request('revocation', async (config) => {
      if (!config.serverMetadata().revocation_endpoint) {
        throw new TokentrayError('invalid_config', 'the provider has no revocation endpoint');
      }
      await oidc.tokenRevocation(config, token, { token_type_hint: hint });
    });
  }

  hasRevocationEndpoint(): Promise<boolean> {
    return this.configuration().then((c) => !!c.serverMetadata().revocation_endpoint);
  }

  /** Runs a token request; classifies failures. */
  #call(what: string, op: (config: oidc.Configuration) => Promise<oidc.TokenEndpointResponse>, requested?: { scope?: string | undefined }, via: typeof fetch | null = null): Promise<GrantResult> {
    const call = () => this.#request(what, async (config) => toGrantResult(await op(config), this.#now()), requested, via);
    return this.#limit ? this.#limit.run(call) : call();
  }

  /** Exposed to the sign-in flows, which need openid-client's own helpers. */
  async request<T>(what: string, op: (config: oidc.Configuration) => Promise<T>): Promise<T> {
    return this.#request(what, op);
  }

  async #request<T>(what: string, op: (config: oidc.Configuration) => Promise<T>, requested?: { scope?: string | undefined }, via: typeof fetch | null = null): Promise<T> {
    const config = await this.configuration();
    const probe: ResponseProbe = newProbe();
    probe.via = via;
    try {
      return await probes.run(probe, () => op(config));
    } catch (error) {
      if (error instanceof TokentrayError && !(error instanceof ProviderError)) throw error;
      throw toProviderError(error, `${this.account.id}: ${what}`, probe, requested?.scope ? { scope: requested.scope } : undefined);
    }
  }

  #issuer(): string | undefined {
    const preset = findPreset(this.account.provider.preset);
    const issuer = this.account.provider.issuer ?? (this.account.provider.tokenEndpoint ? undefined : preset?.issuer);
    return issuer ? fillTemplate(issuer, this.account.params) : undefined;
  }

  async #configure(): Promise<oidc.Configuration> {
    const account = this.account;
    if (!account.clientId) throw new TokentrayError('invalid_config', `${account.id}: no client id`);
    const preset = findPreset(account.provider.preset);
    const authMethod = account.tokenEndpointAuth ?? preset?.tokenEndpointAuth ?? (this.#secret ? 'client_secret_basic' : 'none');
    const clientAuth = !this.#secret || authMethod === 'none' ? oidc.None() : authMethod === 'client_secret_post' ? oidc.ClientSecretPost(this.#secret) : oidc.ClientSecretBasic(this.#secret);
    const issuer = this.#issuer();
    const endpoint = (value: string | undefined, what: string) => (value ? assertSafeUrl(fillTemplate(value, account.params), what).href : undefined);
    const explicit = {
      token_endpoint: endpoint(account.provider.tokenEndpoint ?? (issuer ? undefined : preset?.tokenEndpoint), 'the token endpoint'),
      authorization_endpoint: endpoint(account.provider.authorizationEndpoint ?? (issuer ? undefined : preset?.authorizationEndpoint), 'the authorization endpoint'),
      device_authorization_endpoint: endpoint(account.provider.deviceEndpoint ?? (issuer ? undefined : preset?.deviceEndpoint), 'the device endpoint'),
      revocation_endpoint: endpoint(account.provider.revocationEndpoint ?? (issuer ? undefined : preset?.revocationEndpoint), 'the revocation endpoint'),
    };
    const urls = [issuer, ...Object.values(explicit)].filter((u): u is string => !!u).map((u) => assertSafeUrl(u, 'a provider URL'));
    const insecure = urls.some((u) => u.protocol === 'http:' && isLoopbackHost(u.hostname));
    let config: oidc.Configuration;
    if (issuer) {
      const probe: ResponseProbe = newProbe();
      try {
        config = await probes.run(probe, () =>
          oidc.discovery(assertSafeUrl(issuer, 'the issuer'), account.clientId!, undefined, clientAuth, {
            execute: insecure ? [oidc.allowInsecureRequests] : [],
            [oidc.customFetch]: this.#fetch,
          }),
        );
      } catch (error) {
        throw toProviderError(error, `${account.id}: discovery at ${issuer}`, probe);
      }
      // Explicit endpoints override what discovery said (some providers omit revocation).
      const meta = config.serverMetadata() as Record<string, unknown>;
      for (const [key, value] of Object.entries(explicit)) if (value) meta[key] = value;
      // REQUIREMENTS 4: ID tokens are checked against the provider's keys too, not only their
      // claims (openid-client leaves signatures unchecked on the token endpoint by default).
      if (meta['jwks_uri']) oidc.enableNonRepudiationChecks(config);
    } else {
      if (!explicit.token_endpoint) throw new TokentrayError('invalid_config', `${account.id}: an issuer or a token endpoint is required`);
      config = new oidc.Configuration({ issuer: new URL(explicit.token_endpoint).origin, ...explicit }, account.clientId, undefined, clientAuth);
      if (insecure) oidc.allowInsecureRequests(config);
    }
    config[oidc.customFetch] = this.#fetch;
    // 0: openid-client adds no deadline of its own. Ours, in #fetch, is finer and its timer ends
    // with the request; openid-client's AbortSignal.timeout outlived every request by its 25 s.
    config.timeout = 0;
    return config;
  }

  readonly #fetch: oidc.CustomFetch = async (url, options) => {
    const probe = probes.getStore();
    const { signal, done } = timeoutSignal(this.#timeoutMs, options.signal);
    if (probe) probe.sent = false;
    const via = probe?.via;
    let response: Response;
    try {
      response = await (via ?? this.#send)(url, { ...options, signal } as RequestInit);
      // Bounded (the keychain process bounds what it sends): a 10 MB answer or a gzip bomb costs at most 1 MB.
      if (!via) response = await boundedResponse(response, MAX_PROVIDER_BODY_BYTES, signal);
    } finally {
      done(); // the body is read whole: nothing is left for the deadline to stop
    }
    if (response.status === 200) {
      const body = await response.text();
      if (probe) probe.issuedRefreshToken = issuedRefreshToken(body);
      const usable = withUsableLifetimes(body);
      response = rebuiltResponse(200, response.headers, usable);
    }
    if (probe) {
      probe.status = response.status;
      probe.retryAfter = response.headers.get('retry-after');
    }
    return response;
  };
}
