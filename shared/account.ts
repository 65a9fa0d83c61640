import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from './account-id.ts';
import { ACCOUNT_STATUSES, FLOWS } from './status.ts';
import { ERROR_CODES } from './errors.ts';

/** Form fields that carry secrets: they belong in the keychain, never in `accounts.json`. */
const SECRET_PARAM_NAMES = new Set([
  'client_secret',
  'refresh_token',
  'access_token',
  'id_token',
  'code_verifier',
  'password',
  'client_assertion',
  'appsecret',
  'app_secret',
]);

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

const isoTime = z.iso.datetime({ offset: false });
const httpUrl = z.url({ protocol: /^https?$/ });

const paramMap = z
  .record(z.string().min(1).max(128), z.string().max(2048))
  .superRefine((params, ctx) => {
    for (const [key, value] of Object.entries(params)) {
      if (SECRET_PARAM_NAMES.has(key.toLowerCase())) {
        ctx.addIssue({ code: 'custom', message: `parameter "${key}" is a secret; pass it through the keychain (e.g. --client-secret-stdin)` });
      }
      if (JWT_SHAPE.test(value)) {
        ctx.addIssue({ code: 'custom', message: `parameter "${key}" holds a token; tokens never go into account definitions` });
      }
    }
  });

export const providerConfigSchema = z
  .strictObject({
    issuer: httpUrl.optional(),
    tokenEndpoint: httpUrl.optional(),
    authorizationEndpoint: httpUrl.optional(),
    deviceEndpoint: httpUrl.optional(),
    revocationEndpoint: httpUrl.optional(),
    preset: z.string().min(1).max(64).optional(),
  });
export type ProviderConfig = z.infer<typeof providerConfigSchema>;

export const lastErrorSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string().max(2000),
  at: isoTime,
});

/** What Tokentray remembers of an account's last known state (no token, only times). */
export const accountStateSchema = z.strictObject({
  status: z.enum(ACCOUNT_STATUSES),
  accessTokenExpiresAt: isoTime.nullable(),
  refreshTokenExpiresAt: isoTime.nullable(),
  lastRefreshAt: isoTime.nullable(),
  nextRefreshAt: isoTime.nullable(),
  lastError: lastErrorSchema.nullable(),
});
export type AccountState = z.infer<typeof accountStateSchema>;

export const accountDefinitionSchema = z
  .strictObject({
    id: z.string().regex(ACCOUNT_ID_PATTERN, 'an id is a slug: [a-z0-9][a-z0-9._-]{0,63}'),
    name: z.string().min(1).max(200),
    flow: z.enum(FLOWS),
    provider: providerConfigSchema,
    clientId: z.string().min(1).max(512).optional(),
    /** True when the keychain record holds a client secret for this account. */
    hasClientSecret: z.boolean().default(false),
    tokenEndpointAuth: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
    scopes: z.array(z.string().min(1).max(256)).max(100).default([]),
    hosts: z.array(z.string().min(1).max(260)).max(100).default([]),
    grantType: z.string().min(1).max(256).optional(),
    params: paramMap.default({}),
    exchange: z.strictObject({ grantType: z.string().min(1).max(256), params: paramMap.default({}) }).optional(),
    appsecretProof: z.boolean().default(false),
    createdAt: isoTime,
    state: accountStateSchema,
  })
  .superRefine((account, ctx) => {
    if (account.flow !== 'manual') {
      if (!account.provider.issuer && !account.provider.tokenEndpoint) {
        ctx.addIssue({ code: 'custom', path: ['provider'], message: 'an issuer or a token endpoint is required' });
      }
      if (!account.clientId) {
        ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'a client id is required' });
      }
    }
    if (account.flow === 'grant' && !account.grantType) {
      ctx.addIssue({ code: 'custom', path: ['grantType'], message: 'flow "grant" needs a grant type' });
    }
  });
export type AccountDefinition = z.infer<typeof accountDefinitionSchema>;
export type AccountDefinitionInput = z.input<typeof accountDefinitionSchema>;

export const accountsFileSchema = z.strictObject({
  version: z.literal(1),
  accounts: z.array(accountDefinitionSchema),
});
export type AccountsFile = z.infer<typeof accountsFileSchema>;

export function initialState(): AccountState {
  return {
    status: 'connecting',
    accessTokenExpiresAt: null,
    refreshTokenExpiresAt: null,
    lastRefreshAt: null,
    nextRefreshAt: null,
    lastError: null,
  };
}
