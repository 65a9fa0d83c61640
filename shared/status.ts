/** One status vocabulary everywhere: API, CLI, UI, tray (PRODUCT.md "Account status"). */
export const ACCOUNT_STATUSES = [
  'connecting',
  'valid',
  'refreshing',
  'retrying',
  'expired',
  'reauth_required',
  'misconfigured',
] as const;

export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const FLOWS = ['browser', 'device', 'client-credentials', 'grant', 'manual'] as const;
export type Flow = (typeof FLOWS)[number];
