import { flag, flags, has, pairs, parseArgs, UsageError } from '../args.ts';
import { call, exitCodeFor, stream } from '../endpoint-client.ts';
import { EXIT } from '../exit-codes.ts';
import { newAccountProblems, type NewAccountField } from '../../../shared/add-account-rules.ts';
import { accountDetails, accountLine, printJson, readStdin, type AccountLike } from '../output.ts';

const enc = encodeURIComponent;

export async function listCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['json'] });
  if (args.positionals.length > 0) throw new UsageError('usage: tokentray list [--json]');
  const { body } = await call(home, 'GET', '/v1/accounts');
  const accounts = (body as { accounts: AccountLike[] }).accounts;
  if (has(args, 'json')) printJson(body);
  else if (accounts.length === 0) process.stdout.write('No accounts. Add one with "tokentray add <name> ...".\n');
  else process.stdout.write(`${accounts.map(accountLine).join('\n')}\n`);
  return 0;
}

export async function statusCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['json'] });
  const [account] = args.positionals;
  if (!account || args.positionals.length > 1) throw new UsageError('usage: tokentray status <account> [--json]');
  const { body } = await call(home, 'GET', `/v1/accounts/${enc(account)}`);
  if (has(args, 'json')) printJson(body);
  else process.stdout.write(`${accountDetails(body as AccountLike)}\n`);
  return 0;
}

export async function refreshCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['json'] });
  const [account] = args.positionals;
  if (!account || args.positionals.length > 1) throw new UsageError('usage: tokentray refresh <account> [--json]');
  const { body } = await call(home, 'POST', `/v1/accounts/${enc(account)}/refresh`);
  if (has(args, 'json')) printJson(body);
  else process.stdout.write(`${accountLine(body as AccountLike)}\n`);
  return 0;
}

export async function removeCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: ['keep-remote', 'json'] });
  const [account] = args.positionals;
  if (!account || args.positionals.length > 1) throw new UsageError('usage: tokentray remove <account> [--keep-remote]');
  const { body } = await call(home, 'DELETE', `/v1/accounts/${enc(account)}${has(args, 'keep-remote') ? '?keep_remote=1' : ''}`);
  const result = body as { revoked: boolean; note: string | null };
  if (has(args, 'json')) printJson(body);
  else process.stdout.write(`Removed ${account}${result.revoked ? ' (revoked at the provider)' : ''}.${result.note ? ` Note: ${result.note}.` : ''}\n`);
  return 0;
}

type SignInError = { code: string; message: string };

/**
 * Runs a sign-in and prints its events: JSON lines with --json, else plain words. The last
 * line is always `connected` or `failed`, so a --json reader needs no other shape.
 */
async function runSignIn(home: string, id: string, options: { json: boolean; noBrowser: boolean; token?: string; expiresAt?: string }): Promise<SignInError | null> {
  let outcome: Record<string, unknown> | null = null;
  await stream(home, 'POST', `/v1/accounts/${enc(id)}/login`, { noBrowser: options.noBrowser, ...(options.token ? { token: options.token } : {}), ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) }, (event) => {
    if (event['event'] === 'connected' || event['event'] === 'failed') outcome = event;
    else if (options.json) printJson(event);
    else if (event['event'] === 'authorize') process.stdout.write(`${options.noBrowser ? 'Open this URL to sign in' : 'Your browser opens for the sign-in; if it does not, open'}:\n  ${String(event['url'])}\n`);
    else if (event['event'] === 'device_code') process.stdout.write(`To sign in, visit ${String(event['verification_uri'])} and enter the code ${String(event['user_code'])}\n`);
  });
  const final = outcome as Record<string, unknown> | null;
  if (final?.['event'] === 'connected') {
    if (options.json) printJson(final);
    else process.stdout.write(`Connected: ${accountLine(final['account'] as AccountLike)}\n`);
    return null;
  }
  const error = (final?.['error'] as SignInError | undefined) ?? { code: 'sign_in_failed', message: 'the sign-in ended without an answer from the broker' };
  if (options.json) printJson({ event: 'failed', error });
  return error;
}

export async function loginCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['expires-at'], booleans: ['no-browser', 'json', 'token-stdin'] });
  const [account] = args.positionals;
  if (!account || args.positionals.length > 1) throw new UsageError('usage: tokentray login <account> [--no-browser] [--json]');
  const token = has(args, 'token-stdin') ? (await readStdin()).trim() : undefined;
  const failure = await runSignIn(home, account, { json: has(args, 'json'), noBrowser: has(args, 'no-browser'), token, expiresAt: flag(args, 'expires-at') });
  if (!failure) return EXIT.ok;
  process.stderr.write(`tokentray: sign-in failed: ${failure.message}\n`);
  return exitCodeFor(failure.code);
}

const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<(typeof INTERRUPTS)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

const CLI_OPTION: Record<NewAccountField, string> = {
  name: '<name>', id: '--id', flow: '--flow', issuer: '--issuer', tokenEndpoint: '--token-endpoint', authorizationEndpoint: '--authorization-endpoint', deviceEndpoint: '--device-endpoint',
  revocationEndpoint: '--revocation-endpoint', clientId: '--client-id', preset: '--preset', grantType: '--grant-type', exchangeGrantType: '--exchange-grant-type', token: '--token-stdin', expiresAt: '--expires-at',
};

const ADD_VALUES = ['issuer', 'token-endpoint', 'authorization-endpoint', 'device-endpoint', 'revocation-endpoint', 'client-id', 'scope', 'flow', 'grant-type', 'param', 'exchange-grant-type', 'exchange-param', 'host', 'preset', 'id', 'token-endpoint-auth', 'expires-at'];
const ADD_BOOLEANS = ['client-secret-stdin', 'token-stdin', 'appsecret-proof', 'no-browser', 'json'];

export async function addCommand(home: string, argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ADD_VALUES, booleans: ADD_BOOLEANS });
  const [name, ...extra] = args.positionals;
  if (!name || extra.length > 0) throw new UsageError('usage: tokentray add <name> --issuer URL | --token-endpoint URL --client-id ID [options] (see tokentray --help)');
  const flow = flag(args, 'flow') ?? 'browser';
  // The window's add-account form applies the same rules (shared/add-account-rules.ts).
  const problems = newAccountProblems({
    name, flow, id: flag(args, 'id'), issuer: flag(args, 'issuer'), tokenEndpoint: flag(args, 'token-endpoint'), authorizationEndpoint: flag(args, 'authorization-endpoint'),
    deviceEndpoint: flag(args, 'device-endpoint'), revocationEndpoint: flag(args, 'revocation-endpoint'), clientId: flag(args, 'client-id'), preset: flag(args, 'preset'),
    grantType: flag(args, 'grant-type'), expiresAt: flag(args, 'expires-at'), token: has(args, 'token-stdin') ? 'from stdin' : undefined,
  });
  for (const [field, message] of Object.entries(problems)) throw new UsageError(`${CLI_OPTION[field as NewAccountField]}: ${message}`);
  if (has(args, 'client-secret-stdin') && has(args, 'token-stdin')) throw new UsageError('--client-secret-stdin and --token-stdin both read stdin: use one');
  const stdin = has(args, 'client-secret-stdin') || has(args, 'token-stdin') ? (await readStdin()).trim() : undefined;
  if ((has(args, 'client-secret-stdin') || has(args, 'token-stdin')) && !stdin) throw new UsageError('stdin was empty');
  const scopes = flags(args, 'scope').flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  const body: Record<string, unknown> = {
    name,
    flow,
    scopes,
    params: pairs(flags(args, 'param'), '--param'),
    exchangeParams: pairs(flags(args, 'exchange-param'), '--exchange-param'),
    hosts: flags(args, 'host'),
    appsecretProof: has(args, 'appsecret-proof'),
  };
  const map: Record<string, string> = { issuer: 'issuer', 'token-endpoint': 'tokenEndpoint', 'authorization-endpoint': 'authorizationEndpoint', 'device-endpoint': 'deviceEndpoint', 'revocation-endpoint': 'revocationEndpoint', 'client-id': 'clientId', 'grant-type': 'grantType', 'exchange-grant-type': 'exchangeGrantType', preset: 'preset', id: 'id', 'token-endpoint-auth': 'tokenEndpointAuth' };
  for (const [option, field] of Object.entries(map)) {
    const value = flag(args, option);
    if (value !== undefined) body[field] = value;
  }
  if (has(args, 'client-secret-stdin')) body['clientSecret'] = stdin;
  const { body: created } = await call(home, 'POST', '/v1/accounts', body);
  const id = (created as { id: string }).id;
  // Nothing was gained by a failed or interrupted first sign-in: leave no half-made account
  // behind, or the next `add` of the same name would meet account_exists.
  const discard = () => call(home, 'DELETE', `/v1/accounts/${enc(id)}?keep_remote=1`).catch(() => undefined);
  const onSignal = (signal: (typeof INTERRUPTS)[number]) => {
    process.stderr.write(`tokentray: interrupted; "${id}" was not added\n`);
    void discard().finally(() => process.exit(128 + SIGNAL_NUMBERS[signal]));
  };
  for (const signal of INTERRUPTS) process.once(signal, onSignal);
  let failure: SignInError | null = { code: 'sign_in_failed', message: 'interrupted' };
  try {
    failure = await runSignIn(home, id, { json: has(args, 'json'), noBrowser: has(args, 'no-browser'), token: has(args, 'token-stdin') ? stdin : undefined, expiresAt: flag(args, 'expires-at') });
  } finally {
    if (failure) await discard();
    for (const signal of INTERRUPTS) process.off(signal, onSignal);
  }
  if (!failure) return EXIT.ok;
  process.stderr.write(`tokentray: "${id}" was not added because the sign-in failed: ${failure.message}\n`);
  return exitCodeFor(failure.code);
}
