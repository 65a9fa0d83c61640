import { useState, type FormEvent, type ReactNode } from 'react';
import { newAccountProblems, type NewAccountField, type NewAccountProblems } from '../../../shared/add-account-rules.ts';
import type { AddAccountRequest } from '../../../shared/api.ts';
import { PRESETS } from '../../../shared/presets.ts';
import { FLOWS, type Flow } from '../../../shared/status.ts';
import { SignInProgress } from '../components/SignInProgress.tsx';
import { useWindow } from '../context.tsx';
import { hrefFor } from '../route.ts';

const FLOW_LABELS: Record<Flow, string> = {
  browser: 'Browser sign-in',
  device: 'Device code',
  'client-credentials': 'Client credentials',
  grant: 'Custom grant',
  manual: 'Paste a token',
};

interface Form {
  preset: string;
  name: string;
  flow: Flow;
  issuer: string;
  tokenEndpoint: string;
  authorizationEndpoint: string;
  deviceEndpoint: string;
  revocationEndpoint: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  grantType: string;
  params: string;
  exchangeGrantType: string;
  exchangeParams: string;
  hosts: string;
  token: string;
  expiresAt: string;
}

const EMPTY: Form = { preset: '', name: '', flow: 'browser', issuer: '', tokenEndpoint: '', authorizationEndpoint: '', deviceEndpoint: '', revocationEndpoint: '', clientId: '', clientSecret: '', scopes: '', grantType: '', params: '', exchangeGrantType: '', exchangeParams: '', hosts: '', token: '', expiresAt: '' };

type FormProblems = NewAccountProblems & { params?: string; exchangeParams?: string };

/** `k=v` lines (as the CLI's repeated --param). */
function pairs(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const eq = line.indexOf('=');
    if (eq < 1) return `"${line.slice(0, 40)}" is not key=value`;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

const opt = (v: string): string | undefined => (v.trim() ? v.trim() : undefined);

function check(form: Form): { problems: FormProblems; request: AddAccountRequest | null } {
  const problems: FormProblems = newAccountProblems({ ...form, preset: opt(form.preset), issuer: opt(form.issuer), tokenEndpoint: opt(form.tokenEndpoint), authorizationEndpoint: opt(form.authorizationEndpoint), deviceEndpoint: opt(form.deviceEndpoint), revocationEndpoint: opt(form.revocationEndpoint), clientId: opt(form.clientId), grantType: opt(form.grantType), token: opt(form.token), expiresAt: opt(form.expiresAt) ? new Date(form.expiresAt).toISOString() : undefined });
  const params = pairs(form.params);
  const exchangeParams = pairs(form.exchangeParams);
  if (typeof params === 'string') problems.params = params;
  if (typeof exchangeParams === 'string') problems.exchangeParams = exchangeParams;
  if (Object.keys(problems).length > 0 || typeof params === 'string' || typeof exchangeParams === 'string') return { problems, request: null };
  const manual = form.flow === 'manual';
  const request: AddAccountRequest = {
    name: form.name.trim(),
    flow: form.flow,
    scopes: form.scopes.split(/[\s,]+/).filter(Boolean),
    params,
    exchangeParams,
    hosts: form.hosts.split(/[\s,]+/).filter(Boolean),
    appsecretProof: false,
    ...(opt(form.preset) ? { preset: opt(form.preset) } : {}),
    ...(!manual && opt(form.issuer) ? { issuer: opt(form.issuer) } : {}),
    ...(!manual && opt(form.tokenEndpoint) ? { tokenEndpoint: opt(form.tokenEndpoint) } : {}),
    ...(!manual && opt(form.authorizationEndpoint) ? { authorizationEndpoint: opt(form.authorizationEndpoint) } : {}),
    ...(!manual && opt(form.deviceEndpoint) ? { deviceEndpoint: opt(form.deviceEndpoint) } : {}),
    ...(!manual && opt(form.revocationEndpoint) ? { revocationEndpoint: opt(form.revocationEndpoint) } : {}),
    ...(!manual && opt(form.clientId) ? { clientId: opt(form.clientId) } : {}),
    ...(!manual && opt(form.clientSecret) ? { clientSecret: form.clientSecret.trim() } : {}),
    ...(form.flow === 'grant' && opt(form.grantType) ? { grantType: opt(form.grantType) } : {}),
    ...(!manual && opt(form.exchangeGrantType) ? { exchangeGrantType: opt(form.exchangeGrantType) } : {}),
    ...(manual && opt(form.token) ? { token: form.token.trim() } : {}),
    ...(manual && opt(form.expiresAt) ? { expiresAt: new Date(form.expiresAt).toISOString() } : {}),
  };
  return { problems, request };
}

type Key = keyof Form;

export function AddAccountView() {
  const addAccount = useWindow((s) => s.addAccount);
  const [form, setForm] = useState<Form>(EMPTY);
  const [touched, setTouched] = useState<Partial<Record<Key, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [adding, setAdding] = useState<string | null>(null);
  const step = useWindow((s) => (adding ? s.signIns[adding] : undefined));
  const { problems, request } = check(form);
  const shown = (key: Key): string | undefined => (submitted || touched[key] ? (problems as Record<string, string | undefined>)[key] : undefined);
  const set = (key: Key, value: string) => setForm((f) => ({ ...f, [key]: value }));
  const preset = form.preset ? PRESETS[form.preset] : undefined;
  const manual = form.flow === 'manual';

  const choosePreset = (id: string) => {
    const p = id ? PRESETS[id] : undefined;
    setForm((f) => ({ ...f, preset: id, scopes: p && !f.scopes.trim() ? p.defaultScopes.join(' ') : f.scopes, name: p && !f.name.trim() && !p.id.startsWith('generic') ? p.label : f.name }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!request) {
      const first = Object.keys(problems)[0];
      if (first) document.getElementById(`field-${first}`)?.focus();
      return;
    }
    const created = await addAccount(request);
    if (created) setAdding(created.id);
  };

  const field = (key: NewAccountField | 'clientSecret' | 'scopes' | 'params' | 'exchangeParams' | 'hosts', label: string, input: ReactNode, hint?: string) => {
    const problem = shown(key as Key);
    return (
      <div className={`field${problem ? ' field-invalid' : ''}`}>
        <label htmlFor={`field-${key}`}>{label}</label>
        {input}
        {hint && (
          <p className="hint" id={`hint-${key}`}>
            {hint}
          </p>
        )}
        {problem && (
          <p className="problem" id={`problem-${key}`}>
            {problem}
          </p>
        )}
      </div>
    );
  };
  const text = (key: Key, extra: { type?: string; placeholder?: string; autoComplete?: string; hint?: boolean } = {}) => (
    <input
      id={`field-${key}`}
      name={key}
      type={extra.type ?? 'text'}
      value={form[key]}
      placeholder={extra.placeholder}
      autoComplete={extra.autoComplete ?? 'off'}
      spellCheck={false}
      aria-invalid={shown(key) ? true : undefined}
      aria-describedby={[shown(key) ? `problem-${key}` : '', extra.hint ? `hint-${key}` : ''].filter(Boolean).join(' ') || undefined}
      onChange={(e) => set(key, e.target.value)}
      onBlur={() => setTouched((t) => ({ ...t, [key]: true }))}
    />
  );

  if (adding && step) {
    const done = step.event === 'connected';
    const failed = step.event === 'failed';
    return (
      <section aria-labelledby="add-title">
        <h2 id="add-title">Add account</h2>
        <p>{done ? `${form.name.trim()} is connected.` : failed ? 'The sign-in did not finish.' : `Signing in to ${form.name.trim()}…`}</p>
        <SignInProgress id={adding} />
        <p className="actions">
          {done && (
            <a className="button" href={hrefFor({ view: 'account', id: adding })}>
              Open the account
            </a>
          )}
          {failed && (
            <button type="button" onClick={() => setAdding(null)}>
              Change the settings and try again
            </button>
          )}
          <a className="button secondary" href={hrefFor({ view: 'accounts' })}>
            Back to the accounts
          </a>
        </p>
      </section>
    );
  }

  return (
    <section aria-labelledby="add-title">
      <h2 id="add-title">Add account</h2>
      <form className="wizard" noValidate onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Provider</legend>
          {field(
            'preset',
            'Preset',
            <select id="field-preset" value={form.preset} onChange={(e) => choosePreset(e.target.value)}>
              <option value="">Custom (enter the provider yourself)</option>
              {Object.values(PRESETS).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>,
            preset ? [preset.issuer ? `Issuer ${preset.issuer}` : preset.tokenEndpoint ? `Token endpoint ${preset.tokenEndpoint}` : 'Enter the issuer or the token endpoint below.', /\{[a-z_]+\}/.test(preset.issuer ?? '') ? ' — fill the {placeholders} with extra parameters (e.g. tenant=…).' : ''].join('') : undefined,
          )}
          {field('name', 'Name', text('name', { placeholder: 'Work GitHub' }))}
          {field(
            'flow',
            'Flow',
            <select id="field-flow" value={form.flow} onChange={(e) => set('flow', e.target.value)}>
              {FLOWS.map((f) => (
                <option key={f} value={f}>
                  {FLOW_LABELS[f]}
                </option>
              ))}
            </select>,
          )}
        </fieldset>
        {manual ? (
          <fieldset>
            <legend>Token</legend>
            {field('token', 'Token', text('token', { type: 'password', autoComplete: 'off' }), undefined)}
            {field('expiresAt', 'Expires at', text('expiresAt', { type: 'datetime-local' }), 'Leave empty to read it from the token (a JWT’s exp), or for a token without expiry.')}
          </fieldset>
        ) : (
          <fieldset>
            <legend>Client</legend>
            {field('issuer', 'Issuer', text('issuer', { placeholder: preset?.issuer ?? 'https://login.example.com', type: 'url', hint: true }), 'OpenID Connect discovery finds the endpoints. For plain OAuth 2.0, give the token endpoint instead.')}
            {field('tokenEndpoint', 'Token endpoint', text('tokenEndpoint', { placeholder: preset?.tokenEndpoint ?? '', type: 'url' }))}
            {field('clientId', 'Client ID', text('clientId'))}
            {field('clientSecret', 'Client secret', text('clientSecret', { type: 'password', hint: true }), 'Only for confidential clients. Kept in the OS keychain.')}
            {field('scopes', 'Scopes', text('scopes', { placeholder: 'openid offline_access', hint: true }), 'Separated by spaces.')}
            {form.flow === 'grant' && field('grantType', 'Grant type', text('grantType', { placeholder: 'urn:example:grant' }))}
            <details>
              <summary>More: endpoints, extra parameters, token exchange, git hosts</summary>
              {field('authorizationEndpoint', 'Authorization endpoint', text('authorizationEndpoint', { type: 'url' }))}
              {field('deviceEndpoint', 'Device endpoint', text('deviceEndpoint', { type: 'url' }))}
              {field('revocationEndpoint', 'Revocation endpoint', text('revocationEndpoint', { type: 'url' }))}
              {field(
                'params',
                'Extra parameters',
                <textarea id="field-params" value={form.params} rows={3} aria-invalid={shown('params') ? true : undefined} onChange={(e) => set('params', e.target.value)} onBlur={() => setTouched((t) => ({ ...t, params: true }))} />,
                'One key=value per line.',
              )}
              {field('exchangeGrantType', 'Exchange grant type', text('exchangeGrantType', { hint: true }), 'A token exchange right after sign-in (RFC 8693 or provider-specific).')}
              {field(
                'exchangeParams',
                'Exchange parameters',
                <textarea id="field-exchangeParams" value={form.exchangeParams} rows={2} onChange={(e) => set('exchangeParams', e.target.value)} />,
                'key=value per line; {access_token} stands for the token just received.',
              )}
              {field('hosts', 'Git hosts', text('hosts', { placeholder: 'git.example.com' }), 'Hosts this account serves to git-credential.')}
            </details>
          </fieldset>
        )}
        <p className="actions">
          <button type="submit">{manual ? 'Add account' : form.flow === 'browser' || form.flow === 'device' ? 'Add account and sign in' : 'Add account and connect'}</button>
          <a className="button secondary" href={hrefFor({ view: 'accounts' })}>
            Cancel
          </a>
        </p>
      </form>
    </section>
  );
}
