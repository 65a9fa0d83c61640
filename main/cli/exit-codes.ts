/** Exit codes of `tokentray` (PRODUCT.md "CLI"). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  brokerNotRunning: 3,
  reauthRequired: 4,
  providerUnavailable: 5,
  notFound: 6,
  locked: 7,
} as const;
