/**
 * Provider presets are data, not code paths: each fills in endpoints, default scopes, extra
 * authorization parameters and how the client authenticates. Templates use `{tenant}` or
 * `{domain}`, filled from `--param`.
 */
export interface Preset {
  id: string;
  label: string;
  /** OIDC issuer (discovery), possibly a template. */
  issuer?: string;
  /** Explicit endpoints for plain OAuth 2.0 providers without discovery. */
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  deviceEndpoint?: string;
  revocationEndpoint?: string;
  defaultScopes: string[];
  /** Extra authorization request parameters (e.g. Google's `access_type=offline`). */
  authorizationParams: Record<string, string>;
  tokenEndpointAuth?: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** The username git expects next to a token, for `git-credential`. */
  gitUsername?: string;
}

export const PRESETS: Record<string, Preset> = {
  'generic-oidc': { id: 'generic-oidc', label: 'OpenID Connect provider', defaultScopes: ['openid', 'offline_access'], authorizationParams: {} },
  'generic-oauth2': { id: 'generic-oauth2', label: 'OAuth 2.0 provider', defaultScopes: [], authorizationParams: {} },
  google: {
    id: 'google',
    label: 'Google',
    issuer: 'https://accounts.google.com',
    defaultScopes: ['openid', 'email'],
    // Google issues refresh tokens through access_type=offline, not the offline_access scope.
    authorizationParams: { access_type: 'offline', prompt: 'consent' },
    tokenEndpointAuth: 'client_secret_post',
  },
  microsoft: {
    id: 'microsoft',
    label: 'Microsoft Entra ID',
    issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
    defaultScopes: ['openid', 'offline_access', 'profile'],
    authorizationParams: {},
    tokenEndpointAuth: 'client_secret_post',
  },
  github: {
    id: 'github',
    label: 'GitHub',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    deviceEndpoint: 'https://github.com/login/device/code',
    defaultScopes: ['repo'],
    authorizationParams: {},
    tokenEndpointAuth: 'client_secret_post',
    gitUsername: 'x-access-token',
  },
  gitlab: {
    id: 'gitlab',
    label: 'GitLab',
    issuer: 'https://gitlab.com',
    defaultScopes: ['openid', 'read_repository', 'write_repository'],
    authorizationParams: {},
    gitUsername: 'oauth2',
  },
  okta: { id: 'okta', label: 'Okta', issuer: 'https://{domain}/oauth2/default', defaultScopes: ['openid', 'offline_access'], authorizationParams: {} },
  auth0: { id: 'auth0', label: 'Auth0', issuer: 'https://{domain}/', defaultScopes: ['openid', 'offline_access'], authorizationParams: {} },
  keycloak: { id: 'keycloak', label: 'Keycloak', issuer: 'https://{domain}/realms/{realm}', defaultScopes: ['openid', 'offline_access'], authorizationParams: {} },
};
