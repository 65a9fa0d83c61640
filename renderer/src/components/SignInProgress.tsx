import { useApi, useWindow } from '../context.tsx';
import { ErrorHelp } from './ErrorHelp.tsx';

/**
 * A sign-in started from this window, shown live: the "Continue in browser" link, or the
 * device code and its verification page, then connected or failed.
 */
export function SignInProgress({ id }: { id: string }) {
  const step = useWindow((s) => s.signIns[id]);
  const forget = useWindow((s) => s.forgetSignIn);
  const run = useWindow((s) => s.run);
  const api = useApi();
  if (!step) return null;
  const cancel = (
    <button type="button" className="secondary" onClick={() => void run(() => api.cancelSignIn({ id }), 'Could not cancel').then(() => forget(id))}>
      Cancel sign-in
    </button>
  );
  const dismiss = (
    <p className="actions">
      <button type="button" className="secondary" onClick={() => forget(id)}>
        Dismiss
      </button>
    </p>
  );
  switch (step.event) {
    case 'starting':
      return (
        <div className="sign-in" role="status">
          <p>Starting the sign-in…</p>
        </div>
      );
    case 'authorize':
      return (
        <div className="sign-in" role="status">
          <p>Sign in with the provider in your browser. Tokentray waits for it to finish.</p>
          <p className="actions">
            <a className="button" href={step.url} target="_blank" rel="noreferrer noopener">
              Continue in browser
            </a>
            {cancel}
          </p>
        </div>
      );
    case 'device_code':
      return (
        <div className="sign-in" role="status">
          <p>
            Open{' '}
            <a href={step.verification_uri_complete ?? step.verification_uri} target="_blank" rel="noreferrer noopener">
              the verification page
            </a>{' '}
            and enter this code:
          </p>
          <p className="user-code" aria-label="User code">
            {step.user_code}
          </p>
          <p className="actions">{cancel}</p>
        </div>
      );
    case 'connected':
      return (
        <div className="sign-in sign-in-done" role="status">
          <p>Connected. Tokentray keeps this account signed in from now on.</p>
          {dismiss}
        </div>
      );
    case 'failed':
      return (
        <div className="sign-in sign-in-failed" role="alert">
          <p>The sign-in failed{step.removed ? ', so the account was not added' : ''}.</p>
          <ErrorHelp code={step.error.code} message={step.error.message} />
          {dismiss}
        </div>
      );
  }
}
