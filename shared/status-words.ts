import type { AccountStatus } from './status.ts';

/** Each status word in plain words, as the window, the tray and the CLI say it. */
export const STATUS_WORDS: Record<AccountStatus, { label: string; meaning: string; needsPerson: boolean }> = {
  connecting: { label: 'Connecting', meaning: 'Waiting for the first sign-in to finish.', needsPerson: false },
  valid: { label: 'Valid', meaning: 'Tokens are fresh and renewed in the background.', needsPerson: false },
  refreshing: { label: 'Refreshing', meaning: 'Getting a new access token now.', needsPerson: false },
  retrying: { label: 'Retrying', meaning: 'The provider did not answer; Tokentray tries again by itself.', needsPerson: false },
  expired: { label: 'Expired', meaning: 'No valid access token; Tokentray keeps trying to get one.', needsPerson: false },
  reauth_required: { label: 'Sign-in needed', meaning: 'The provider no longer accepts this sign-in: sign in again.', needsPerson: true },
  misconfigured: { label: 'Needs fixing', meaning: 'The provider refuses this account’s settings: fix them, then sign in again.', needsPerson: true },
};
