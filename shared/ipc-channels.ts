/**
 * The names every transport shares, with no schema library, so the sandboxed preload script
 * (bundled on its own) carries nothing but these: one IPC channel per BrokerApi call.
 */
export const BROKER_CALLS = [
  'overview',
  'listAccounts',
  'getAccount',
  'addAccount',
  'signIn',
  'cancelSignIn',
  'refresh',
  'copyToken',
  'claims',
  'removeAccount',
  'listClients',
  'approveClient',
  'denyClient',
  'revokeClient',
  'activity',
  'setLocked',
  'updateSettings',
] as const;
export type BrokerCall = (typeof BROKER_CALLS)[number];

export const IPC_EVENT_CHANNEL = 'broker:event';
export const ipcChannel = (call: BrokerCall): `broker:${BrokerCall}` => `broker:${call}`;
export const IPC_CALL_CHANNELS = BROKER_CALLS.map(ipcChannel);
