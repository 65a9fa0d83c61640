import { z } from 'zod';
import { ACCOUNT_STATUSES, FLOWS } from './status.ts';
import { ERROR_CODES } from './errors.ts';

/** An account as the API, `--json` and the UI see it (PRODUCT.md "Account status"). */
export const accountViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(ACCOUNT_STATUSES),
  flow: z.enum(FLOWS),
  provider: z.union([
    z.strictObject({ issuer: z.string(), preset: z.string().nullable() }),
    z.strictObject({ tokenEndpoint: z.string(), preset: z.string().nullable() }),
    z.strictObject({ preset: z.string().nullable() }),
  ]),
  scopes: z.array(z.string()),
  hosts: z.array(z.string()),
  accessTokenExpiresAt: z.string().nullable(),
  refreshTokenExpiresAt: z.string().nullable(),
  lastRefreshAt: z.string().nullable(),
  nextRefreshAt: z.string().nullable(),
  lastError: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string(), at: z.string() }).nullable(),
  persisted: z.boolean(),
});
export type AccountView = z.infer<typeof accountViewSchema>;
