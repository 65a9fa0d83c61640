import type { AccountDefinition } from '../../../shared/account.ts';
import type { AccountView } from '../../../shared/account-view.ts';

/** The one way an account is shown: API, `--json`, UI and tray all use this. */
export function accountView(account: AccountDefinition, persisted: boolean, grantedScopes?: string[] | null): AccountView {
  const preset = account.provider.preset ?? null;
  const provider = account.provider.issuer
    ? { issuer: account.provider.issuer, preset }
    : account.provider.tokenEndpoint
      ? { tokenEndpoint: account.provider.tokenEndpoint, preset }
      : { preset };
  return {
    id: account.id,
    name: account.name,
    status: account.state.status,
    flow: account.flow,
    provider,
    scopes: grantedScopes && grantedScopes.length > 0 ? grantedScopes : account.scopes,
    hosts: account.hosts,
    accessTokenExpiresAt: account.state.accessTokenExpiresAt,
    refreshTokenExpiresAt: account.state.refreshTokenExpiresAt,
    lastRefreshAt: account.state.lastRefreshAt,
    nextRefreshAt: account.state.nextRefreshAt,
    lastError: account.state.lastError,
    persisted,
  };
}
