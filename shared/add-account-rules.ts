import { ACCOUNT_ID_PATTERN, slugify } from './account-id.ts';
import { PRESETS } from './presets.ts';
import { FLOWS } from './status.ts';
import { urlProblem } from './url-rules.ts';

/**
 * The rules a new account must meet, in one place: the CLI's `add`, the broker's
 * `POST /v1/accounts` and the window's add-account form all apply these, so a form that
 * passes here is never refused later for a reason the person was not shown.
 */
export interface NewAccountFields {
  name: string;
  id?: string | undefined;
  flow: string;
  issuer?: string | undefined;
  tokenEndpoint?: string | undefined;
  authorizationEndpoint?: string | undefined;
  deviceEndpoint?: string | undefined;
  revocationEndpoint?: string | undefined;
  clientId?: string | undefined;
  preset?: string | undefined;
  grantType?: string | undefined;
  exchangeGrantType?: string | undefined;
  /** Manual accounts: the pasted token (only whether it is there matters here). */
  token?: string | undefined;
  expiresAt?: string | undefined;
}

export type NewAccountField = keyof NewAccountFields;
export type NewAccountProblems = Partial<Record<NewAccountField, string>>;

const URL_FIELDS = [
  ['issuer', 'the issuer'],
  ['tokenEndpoint', 'the token endpoint'],
  ['authorizationEndpoint', 'the authorization endpoint'],
  ['deviceEndpoint', 'the device endpoint'],
  ['revocationEndpoint', 'the revocation endpoint'],
] as const;

const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/**
 * Every problem with the fields, one plain-words message per field; empty when all is well.
 * `tokenWithSignIn`: a manual account's token comes with its sign-in (the API's
 * `POST /v1/accounts/{id}/login`), not with the account, so it is not required here.
 */
export function newAccountProblems(fields: NewAccountFields, options: { tokenWithSignIn?: boolean } = {}): NewAccountProblems {
  const problems: NewAccountProblems = {};
  const name = fields.name.trim();
  if (!name) problems.name = 'give the account a name';
  else if (name.length > 200) problems.name = 'a name has at most 200 characters';
  if (given(fields.id)) {
    if (!ACCOUNT_ID_PATTERN.test(fields.id)) problems.id = 'an id is a slug: a-z, 0-9, ".", "_" or "-", starting with a letter or digit, at most 64';
  } else if (name && !slugify(name)) {
    problems.name = `cannot make an id from "${name}": use some letters or digits, or give an id`;
  }
  if (!(FLOWS as readonly string[]).includes(fields.flow)) {
    problems.flow = `the flow is one of ${FLOWS.join(', ')}`;
    return problems;
  }
  const preset = given(fields.preset) ? PRESETS[fields.preset] : undefined;
  if (given(fields.preset) && !preset) problems.preset = `no preset "${fields.preset}"; known: ${Object.keys(PRESETS).join(', ')}`;
  for (const [field, what] of URL_FIELDS) {
    const value = fields[field];
    if (!given(value)) continue;
    const problem = urlProblem(value.trim(), what);
    if (problem) problems[field] = problem;
  }
  if (fields.flow === 'manual') {
    if (!given(fields.token) && !options.tokenWithSignIn) problems.token = 'paste the token this account serves';
    if (given(fields.expiresAt) && Number.isNaN(Date.parse(fields.expiresAt))) problems.expiresAt = 'the expiry is a date and time (ISO 8601)';
    return problems;
  }
  const issuer = given(fields.issuer) || given(preset?.issuer);
  const tokenEndpoint = given(fields.tokenEndpoint) || given(preset?.tokenEndpoint);
  if (!issuer && !tokenEndpoint && !problems.issuer && !problems.tokenEndpoint) {
    problems.issuer = 'give the issuer (OpenID Connect discovery) or a token endpoint (plain OAuth 2.0)';
  }
  if (!given(fields.clientId)) problems.clientId = 'the client id is required (the provider shows it where the app is registered)';
  if (fields.flow === 'grant' && !given(fields.grantType)) problems.grantType = 'a custom grant needs its grant type';
  return problems;
}

/** The first problem as one line, for the CLI's usage error and the API's 400. */
export function firstProblem(problems: NewAccountProblems): string | null {
  const first = Object.values(problems)[0];
  return first ?? null;
}
