import { slugify } from '../../../shared/account-id.ts';
import { firstProblem, newAccountProblems } from '../../../shared/add-account-rules.ts';
import type { AddAccountRequest } from '../../../shared/api.ts';
import { TokentrayError } from '../../../shared/errors.ts';

/**
 * A new account's definition from an add-account request (the API's and the window's),
 * after the same rules the CLI and the window's form apply. Over the API a manual account's
 * token arrives with its sign-in; the window sends it with the account.
 */
export function accountDefinitionFrom(body: AddAccountRequest, options: { tokenWithSignIn?: boolean } = {}) {
  const problem = firstProblem(newAccountProblems(body, options));
  if (problem) throw new TokentrayError('invalid_account', problem);
  const id = body.id ?? slugify(body.name);
  return {
    id,
    name: body.name.trim(),
    flow: body.flow,
    provider: {
      issuer: body.issuer,
      tokenEndpoint: body.tokenEndpoint,
      authorizationEndpoint: body.authorizationEndpoint,
      deviceEndpoint: body.deviceEndpoint,
      revocationEndpoint: body.revocationEndpoint,
      preset: body.preset,
    },
    clientId: body.clientId,
    tokenEndpointAuth: body.tokenEndpointAuth,
    scopes: body.scopes,
    hosts: body.hosts,
    grantType: body.grantType,
    params: body.params,
    exchange: body.exchangeGrantType ? { grantType: body.exchangeGrantType, params: body.exchangeParams } : undefined,
    appsecretProof: body.appsecretProof,
  };
}
