import type { IncomingMessage, ServerResponse } from 'node:http';
import { addAccountSchema, approveClientSchema, clientRequestSchema, loginSchema } from '../../../shared/api.ts';
import { accountDefinitionFrom } from '../accounts/new-account.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Broker } from '../broker/broker.ts';
import type { TokenAnswer } from '../broker/token-answer.ts';
import type { ClientRegistry, ClientView } from '../clients/client-registry.ts';
import type { Logger } from '../log/logger.ts';
import { readJson } from './request-body.ts';
import { sendJson, sendJsonText } from './responses.ts';
import { openEventStream } from './event-stream.ts';
import { systemIso } from '../clock.ts';
import type { RequestUrl } from './guards.ts';

/** Who is calling: the owner (the person's own CLI and UI) or an approved local tool. */
export type Caller = { kind: 'owner' } | { kind: 'client'; client: ClientView };

export interface RouteContext {
  broker: Broker;
  clients: ClientRegistry;
  audit: AuditLog;
  logger: Logger;
  version: string;
  approvalTimeoutMs: number;
  heartbeatMs: number;
  isLocked: () => boolean;
  setLocked: (locked: boolean) => void;
  /** A one-time URL that opens the window in a browser (`tokentray open`). */
  windowLink: () => string;
  /** Throws when tools ask for keys too often (POST /v1/clients). */
  limitKeyRequests: () => void;
}

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestUrl;
  params: string[];
  caller: Caller;
  route: string;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** `public` routes need no key; `owner` routes refuse client keys. */
  access: 'public' | 'any' | 'owner';
  name: string;
  handle: (ctx: RouteContext, r: Request) => Promise<void> | void;
}

const ID = '([a-z0-9][a-z0-9._-]{0,63})';
const CLIENT_ID = '(c_[a-z0-9]{12})';

function granted(caller: Caller, accountId: string): void {
  if (caller.kind === 'client' && caller.client.accounts !== null && !caller.client.accounts.includes(accountId)) {
    throw new TokentrayError('account_not_granted', `this key is not granted account "${accountId}"`);
  }
}

function maySee(caller: Caller, accountId: string): boolean {
  return caller.kind === 'owner' || caller.client.accounts === null || caller.client.accounts.includes(accountId);
}

function minTtl(url: RequestUrl): number | undefined {
  const raw = url.searchParams.get('min_ttl');
  if (raw === null) return undefined;
  if (!/^\d{1,6}$/.test(raw)) throw new TokentrayError('bad_request', 'min_ttl is a number of seconds (0-999999)');
  return Number(raw);
}

const NO_CACHE = { pragma: 'no-cache' };
const BODIES = new WeakMap<TokenAnswer, string>();

/** The token route's JSON, serialised once per answer (the broker reuses an answer within its second). */
function tokenBody(token: TokenAnswer): string {
  let text = BODIES.get(token);
  if (text === undefined) {
    const body: Record<string, unknown> = {
      access_token: token.accessToken,
      token_type: token.tokenType,
      expires_at: token.expiresAt,
      expires_in: token.expiresIn,
      scope: token.scope,
      account: token.account,
    };
    if (token.appsecretProof) body['appsecret_proof'] = token.appsecretProof;
    text = JSON.stringify(body);
    BODIES.set(token, text);
  }
  return text;
}

export const ROUTES: Route[] = [
  {
    method: 'GET', pattern: /^\/v1\/health$/, access: 'public', name: 'health',
    handle: (ctx, { res }) => sendJson(res, 200, { ok: true, version: ctx.version }),
  },
  {
    method: 'GET', pattern: /^\/v1\/accounts$/, access: 'any', name: 'accounts',
    handle: (ctx, { res, caller }) => sendJsonText(res, 200, ctx.broker.listJson((id) => maySee(caller, id))),
  },
  {
    method: 'POST', pattern: /^\/v1\/accounts$/, access: 'owner', name: 'add-account',
    handle: async (ctx, { req, res }) => {
      const body = await readJson(req, addAccountSchema);
      const view = await ctx.broker.addAccount(accountDefinitionFrom(body, { tokenWithSignIn: true }), { clientSecret: body.clientSecret ?? null });
      sendJson(res, 201, view);
    },
  },
  {
    method: 'GET', pattern: new RegExp(`^/v1/accounts/${ID}$`), access: 'any', name: 'account',
    handle: (ctx, { res, params, caller }) => {
      granted(caller, params[0]!);
      sendJson(res, 200, ctx.broker.view(params[0]!));
    },
  },
  {
    method: 'DELETE', pattern: new RegExp(`^/v1/accounts/${ID}$`), access: 'owner', name: 'remove-account',
    handle: async (ctx, { res, params, url }) => {
      const result = await ctx.broker.remove(params[0]!, { keepRemote: url.searchParams.get('keep_remote') === '1' });
      sendJson(res, 200, { removed: true, ...result });
    },
  },
  {
    method: 'GET', pattern: new RegExp(`^/v1/accounts/${ID}/token$`), access: 'any', name: 'token',
    handle: (ctx, { res, params, caller, url }) => {
      const id = params[0]!;
      granted(caller, id);
      if (ctx.isLocked()) throw new TokentrayError('locked', 'Tokentray is locked: unlock it to hand out tokens');
      const ttl = minTtl(url);
      const options = ttl === undefined ? {} : { minTtlSeconds: ttl };
      const answer = (token: TokenAnswer) => {
        // Recorded before the answer leaves, written with the next batch: the tool does not wait
        // for the disk (a write that fails is logged; the token was handed out either way).
        ctx.audit.note({ at: systemIso(), account: id, client: caller.kind === 'owner' ? 'owner' : caller.client.id, route: 'token' }, (error) => ctx.logger.error({ err: error }, 'could not write the audit log'));
        sendJsonText(res, 200, tokenBody(token), NO_CACHE);
      };
      // A token held in memory and valid long enough is answered in this turn, with no promise
      // (the hot path); anything else waits for getToken (a refresh, an error).
      const now = ctx.broker.tokenNow(id, options);
      if (now) answer(now);
      else return ctx.broker.getToken(id, options).then(answer);
    },
  },
  {
    method: 'POST', pattern: new RegExp(`^/v1/accounts/${ID}/refresh$`), access: 'any', name: 'refresh',
    handle: async (ctx, { res, params, caller }) => {
      granted(caller, params[0]!);
      sendJson(res, 200, await ctx.broker.refresh(params[0]!));
    },
  },
  {
    method: 'POST', pattern: new RegExp(`^/v1/accounts/${ID}/login$`), access: 'owner', name: 'login',
    handle: async (ctx, { req, res, params }) => {
      const body = await readJson(req, loginSchema, { optional: true });
      const id = params[0]!;
      ctx.broker.view(id); // 404 before the stream starts
      // Sign-in events stream as JSON lines; the last line says connected or failed.
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
      // The person pressed Ctrl-C on `tokentray login`: stop waiting for them.
      const gone = new AbortController();
      res.on('close', () => { if (!res.writableEnded) gone.abort(); });
      try {
        const account = await ctx.broker.signIn(id, {
          signal: gone.signal,
          noBrowser: body.noBrowser,
          onEvent: (event) => line(event),
          ...(body.token ? { token: body.token } : {}),
          ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt) } : {}),
        });
        line({ event: 'connected', account });
      } catch (error) {
        const failure = error instanceof TokentrayError ? error : new TokentrayError('internal', 'sign-in failed');
        line({ event: 'failed', error: { code: failure.code, message: failure.message } });
      }
      res.end();
    },
  },
  {
    method: 'GET', pattern: /^\/v1\/events$/, access: 'any', name: 'events',
    handle: (ctx, { req, res, caller }) => openEventStream(req, res, ctx.broker, ctx.heartbeatMs, (id) => maySee(caller, id)),
  },
  {
    method: 'POST', pattern: /^\/v1\/clients$/, access: 'public', name: 'request-key',
    handle: async (ctx, { req, res }) => {
      ctx.limitKeyRequests();
      const body = await readJson(req, clientRequestSchema);
      const abandoned = new AbortController();
      res.on('close', () => { if (!res.writableEnded) abandoned.abort(); });
      const granted = await ctx.clients.request(body.name, body.accounts, ctx.approvalTimeoutMs, abandoned.signal);
      sendJson(res, 200, granted);
    },
  },
  {
    method: 'GET', pattern: /^\/v1\/clients$/, access: 'owner', name: 'clients',
    handle: (ctx, { res }) => sendJson(res, 200, { clients: ctx.clients.list() }),
  },
  {
    method: 'POST', pattern: new RegExp(`^/v1/clients/${CLIENT_ID}/approve$`), access: 'owner', name: 'approve-client',
    handle: async (ctx, { req, res, params }) => {
      const body = await readJson(req, approveClientSchema, { optional: true });
      for (const id of body.accounts ?? []) ctx.broker.view(id); // each must exist
      sendJson(res, 200, await ctx.clients.approve(params[0]!, body.accounts));
    },
  },
  {
    method: 'POST', pattern: new RegExp(`^/v1/clients/${CLIENT_ID}/deny$`), access: 'owner', name: 'deny-client',
    handle: async (ctx, { res, params }) => sendJson(res, 200, await ctx.clients.deny(params[0]!)),
  },
  {
    method: 'DELETE', pattern: new RegExp(`^/v1/clients/${CLIENT_ID}$`), access: 'owner', name: 'revoke-client',
    handle: async (ctx, { res, params }) => sendJson(res, 200, await ctx.clients.revoke(params[0]!)),
  },
  {
    method: 'GET', pattern: /^\/v1\/audit$/, access: 'owner', name: 'audit',
    handle: async (ctx, { res, url }) => {
      const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
      sendJson(res, 200, { entries: await ctx.audit.recent(limit) });
    },
  },
  {
    method: 'POST', pattern: /^\/v1\/ui\/open$/, access: 'owner', name: 'open-window',
    handle: (ctx, { res }) => sendJson(res, 200, { url: ctx.windowLink() }),
  },
  {
    method: 'POST', pattern: /^\/v1\/(lock|unlock)$/, access: 'owner', name: 'lock',
    handle: (ctx, { res, params }) => {
      ctx.setLocked(params[0] === 'lock');
      sendJson(res, 200, { locked: ctx.isLocked() });
    },
  },
];

