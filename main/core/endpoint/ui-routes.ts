import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isBrokerCall } from '../../../shared/broker-api.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { BrokerApiService } from '../ui/broker-api-service.ts';
import type { UiSessions } from '../ui/ui-sessions.ts';
import { serveEvents } from './event-stream.ts';
import { readJson } from './request-body.ts';
import { sendJson } from './responses.ts';
import { pageHeaders, type StaticFiles } from './static-files.ts';
import type { RequestUrl } from './guards.ts';

export interface UiContext {
  sessions: UiSessions;
  service: BrokerApiService;
  /** null when the renderer was not built. */
  files: StaticFiles | null;
  heartbeatMs: number;
}

/** Cookies ignore ports: the port in the name keeps two brokers' sessions apart. */
export const sessionCookieName = (port: number): string => `tokentray_session_${port}`;

/** Whether a path belongs to the window (web mode) rather than the `/v1` API. */
export function isUiPath(pathname: string): boolean {
  return !pathname.startsWith('/v1/') && pathname !== '/v1';
}

/**
 * Browsers send Origin / Sec-Fetch-Site. On the window's routes the only origin allowed is the
 * window's own: `http://` + the Host the request was sent to (already checked to be ours).
 */
export function checkUiOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) throw new TokentrayError('forbidden_origin', 'requests from other web pages are refused');
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'none' && site !== 'same-origin') throw new TokentrayError('forbidden_origin', 'cross-site requests are refused');
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
  res.writeHead(status, pageHeaders('text/html; charset=utf-8', Buffer.byteLength(body)));
  res.end(body);
}

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

/** Web mode: the built renderer at `/`, `/ui/login`, and the cookie-only `/ui/api/*`. */
export async function handleUi(ctx: UiContext, req: IncomingMessage, res: ServerResponse, url: RequestUrl, port: number | null): Promise<void> {
  checkUiOrigin(req);
  const path = url.pathname;
  if (path === '/ui/login') {
    if (req.method !== 'GET') throw new TokentrayError('bad_request', 'GET /ui/login?t=<token>');
    if (port === null) throw new TokentrayError('not_found', 'the window is served over TCP only');
    const session = ctx.sessions.redeem(url.searchParams.get('t') ?? '');
    if (!session) {
      page(res, 401, 'This link has expired', 'A Tokentray window link works once, within 60 seconds. Run <code>tokentray open</code> again.');
      return;
    }
    res.writeHead(303, {
      location: '/',
      'set-cookie': `${sessionCookieName(port)}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      'cache-control': 'no-store',
      'content-length': 0,
      'referrer-policy': 'no-referrer',
    });
    res.end();
    return;
  }
  if (path.startsWith('/ui/api/')) {
    await handleUiApi(ctx, req, res, path.slice('/ui/api/'.length), port);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new TokentrayError('bad_request', `method ${req.method} is not allowed here`);
  if (!ctx.files) {
    page(res, 503, 'The window is not built', 'Run <code>npm run build</code>, then reload.');
    return;
  }
  if (!ctx.files.serve(path, res, req.method === 'HEAD')) throw new TokentrayError('not_found', 'no such page');
}

async function handleUiApi(ctx: UiContext, req: IncomingMessage, res: ServerResponse, call: string, port: number | null): Promise<void> {
  if (req.headers.authorization !== undefined) throw new TokentrayError('unauthorized', "the window's API takes its session cookie, never a key");
  const session = port === null ? null : cookie(req, sessionCookieName(port));
  if (!session || !ctx.sessions.touch(session)) throw new TokentrayError('unauthorized', 'no window session: run "tokentray open"');
  if (req.headers['x-tokentray-ui'] !== '1') throw new TokentrayError('forbidden_origin', 'the window sends "X-Tokentray-UI: 1"');
  if (call === 'events') {
    if (req.method !== 'GET') throw new TokentrayError('bad_request', 'GET /ui/api/events');
    openUiEvents(ctx, req, res);
    return;
  }
  if (!isBrokerCall(call)) throw new TokentrayError('not_found', `no call "${call.slice(0, 64)}"`);
  if (req.method !== 'POST') throw new TokentrayError('bad_request', `POST /ui/api/${call}`);
  const input = await readJson(req, z.unknown(), { optional: true });
  sendJson(res, 200, await ctx.service.invoke(call, input));
}

function openUiEvents(ctx: UiContext, req: IncomingMessage, res: ServerResponse): void {
  serveEvents(req, res, ctx.heartbeatMs, (send) => ctx.service.subscribe((event) => send(`data: ${JSON.stringify(event)}\n\n`)));
}
