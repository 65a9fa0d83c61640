import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from './account-id.ts';
import { FLOWS } from './status.ts';

/** Request bodies of the local HTTP API, parsed strictly (unknown fields are refused). */
const id = z.string().regex(ACCOUNT_ID_PATTERN);
const params = z.record(z.string().min(1).max(128), z.string().max(2048));

export const clientRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  accounts: z.array(id).max(100).optional(),
});

export const approveClientSchema = z.strictObject({
  accounts: z.array(id).max(100).optional(),
});

export const addAccountSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  id: id.optional(),
  flow: z.enum(FLOWS).default('browser'),
  issuer: z.string().max(2048).optional(),
  tokenEndpoint: z.string().max(2048).optional(),
  authorizationEndpoint: z.string().max(2048).optional(),
  deviceEndpoint: z.string().max(2048).optional(),
  revocationEndpoint: z.string().max(2048).optional(),
  clientId: z.string().min(1).max(512).optional(),
  clientSecret: z.string().min(1).max(4096).optional(),
  tokenEndpointAuth: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  scopes: z.array(z.string().min(1).max(256)).max(100).default([]),
  grantType: z.string().min(1).max(256).optional(),
  params: params.default({}),
  exchangeGrantType: z.string().min(1).max(256).optional(),
  exchangeParams: params.default({}),
  appsecretProof: z.boolean().default(false),
  hosts: z.array(z.string().min(1).max(260)).max(100).default([]),
  preset: z.string().min(1).max(64).optional(),
  /** Manual accounts: the pasted token and its expiry. */
  token: z.string().min(1).max(65536).optional(),
  expiresAt: z.iso.datetime().optional(),
});
export type AddAccountRequest = z.infer<typeof addAccountSchema>;

export const loginSchema = z.strictObject({
  noBrowser: z.boolean().default(false),
  token: z.string().min(1).max(65536).optional(),
  expiresAt: z.iso.datetime().optional(),
});

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden_host: 403,
  forbidden_origin: 403,
  account_not_granted: 403,
  client_denied: 403,
  account_not_found: 404,
  not_found: 404,
  approval_timeout: 408,
  reauth_required: 409,
  account_exists: 409,
  misconfigured: 409,
  payload_too_large: 413,
  rate_limited: 429,
  locked: 423,
  provider_unavailable: 503,
  keychain_unavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof ERROR_STATUS;
