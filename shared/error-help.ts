import type { ErrorCode } from './errors.ts';

/**
 * One table from error code to what it means and what to do, shared by the window, the tray
 * and the CLI, so a person reads the same advice wherever an error shows up.
 */
export const ERROR_HELP: Record<ErrorCode, { meaning: string; fix: string }> = {
  keychain_unavailable: { meaning: 'The OS keychain cannot be reached.', fix: 'Unlock or start your keychain (Secret Service, Keychain Access, Credential Manager); until then tokens are kept in memory only.' },
  keychain_error: { meaning: 'The OS keychain refused a read or write.', fix: 'Check that the keychain is unlocked and not full; Tokentray retries the write by itself.' },
  record_corrupt: { meaning: 'The stored tokens of this account are damaged.', fix: 'Sign in again to store a fresh copy (an account with a client secret lost it too: remove it and add it again with the secret).' },
  record_missing: { meaning: 'No tokens are stored for this account: they were kept in memory only (there was no keychain) when Tokentray stopped, or were removed from the keychain.', fix: 'Sign in again (an account with a client secret lost it too: remove it and add it again with the secret).' },
  record_too_large: { meaning: 'The tokens are larger than the keychain accepts.', fix: 'Ask for fewer scopes, or sign in again.' },
  store_corrupt: { meaning: 'accounts.json could not be read.', fix: 'Tokentray kept a copy of the damaged file next to it; restore it or add the accounts again.' },
  store_io: { meaning: 'A file in the data folder could not be written.', fix: 'Check free disk space and the permissions of the data folder.' },
  invalid_account_id: { meaning: 'The account id is not a valid slug.', fix: 'Use lower-case letters, digits, ".", "_" or "-".' },
  invalid_account: { meaning: 'The account settings are incomplete or wrong.', fix: 'Correct the field named in the message.' },
  account_exists: { meaning: 'An account with this id already exists.', fix: 'Pick another name or id, or remove the old account first.' },
  account_not_found: { meaning: 'There is no such account.', fix: 'Check the id with "tokentray list".' },
  invalid_config: { meaning: 'The provider settings are incomplete.', fix: 'Give an issuer or the endpoints the flow needs.' },
  insecure_url: { meaning: 'A provider URL is not https.', fix: 'Use the https address (plain http is only for 127.0.0.1, ::1 and localhost).' },
  provider_unavailable: { meaning: 'The provider did not answer or is overloaded.', fix: 'Nothing to do: Tokentray retries by itself. Check your network if it lasts.' },
  provider_error: { meaning: 'The provider answered with something Tokentray did not expect.', fix: 'Try again later; if it persists, check the provider’s status page.' },
  reauth_required: { meaning: 'The provider no longer accepts this sign-in.', fix: 'Sign in again.' },
  misconfigured: { meaning: 'The provider refuses the client settings (client id, secret, grant or scopes).', fix: 'Fix the client id, secret, grant type or scopes where the app is registered, then sign in again.' },
  invalid_grant: { meaning: 'The refresh token was revoked or has expired.', fix: 'Sign in again.' },
  sign_in_failed: { meaning: 'The sign-in did not finish.', fix: 'Start it again and complete it in the browser.' },
  timeout: { meaning: 'The sign-in took too long.', fix: 'Start it again and finish within five minutes.' },
  bad_request: { meaning: 'A request was malformed.', fix: 'Correct the input named in the message.' },
  unauthorized: { meaning: 'The key or session was not accepted.', fix: 'Run "tokentray open" for a new window session, or ask for a new key.' },
  forbidden_host: { meaning: 'The request named a host Tokentray does not serve.', fix: 'Use 127.0.0.1, ::1 or localhost with the broker’s port.' },
  forbidden_origin: { meaning: 'A web page tried to reach Tokentray.', fix: 'Only Tokentray’s own window may do that.' },
  account_not_granted: { meaning: 'This tool’s key is not allowed this account.', fix: 'Approve the tool again with this account, or use another key.' },
  payload_too_large: { meaning: 'The request body was too large.', fix: 'Send less data.' },
  locked: { meaning: 'Tokentray is locked: no tool gets a token.', fix: 'Unlock Tokentray in the window or with "tokentray unlock".' },
  broker_running: { meaning: 'Another broker already runs on this data folder.', fix: 'Use the running one, or stop it first.' },
  broker_not_running: { meaning: 'No broker runs on this data folder.', fix: 'Start Tokentray, or run "tokentray serve".' },
  client_denied: { meaning: 'The person denied this tool’s request.', fix: 'Ask again if it was a mistake.' },
  approval_timeout: { meaning: 'Nobody approved the tool’s request within five minutes.', fix: 'Ask again while Tokentray’s window is open.' },
  rate_limited: { meaning: 'Too many requests in a short time.', fix: 'Wait for the time the answer names (Retry-After), then try again.' },
  not_found: { meaning: 'Nothing was found there.', fix: 'Check the name or id.' },
  internal: { meaning: 'Something went wrong inside Tokentray.', fix: 'Try again; if it happens again, report it with the broker log.' },
};
