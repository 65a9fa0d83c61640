import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import { hashKey, sameHash } from '../clients/keys.ts';
import { bearerKey, checkHost, checkOrigin, checkQuery, requestUrl } from './guards.ts';
import { ROUTES, type Caller, type RouteContext } from './api-routes.ts';
import { sendError, sendFailure } from './responses.ts';
import { handleUi, isUiPath, type UiContext } from './ui-routes.ts';

export interface ApiServerOptions extends RouteContext {
  ownerKey: string;
  /** 0 for an ephemeral port. */
  port: number;
  socketPath: string | null;
  /** Web mode: the window at `/` and `/ui/*`; without it those paths are 404. */
  ui?: UiContext;
  /** Called on every request, before anything else: keep it to a field write (MemoryTrim.touch). */
  onRequest?: () => void;
}

export interface ApiServer {
  url: string;
  port: number;
  socketPath: string | null;
  close(): Promise<void>;
}

/**
 * The socket's folder must be ours alone (REQUIREMENTS 12). A folder at that path that is a
 * symlink, or belongs to someone else (another user pre-created it under the shared temp
 * directory), is never used — not even chmod-ed, as root could: a fresh private folder is.
 */
async function privateSocketPath(wanted: string, logger: Logger): Promise<string> {
  const dir = dirname(wanted);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isSymbolicLink() && info.isDirectory() && (uid === undefined || info.uid === uid)) {
    await chmod(dir, 0o700);
    return wanted;
  }
  const fresh = await mkdtemp(join(tmpdir(), 'tokentray-'));
  await chmod(fresh, 0o700);
  logger.warn({ refused: dir, owner: info.uid, symlink: info.isSymbolicLink() }, 'the socket folder belongs to someone else: using a fresh private one');
  return join(fresh, basename(wanted));
}

/** Slow clients are cut off: headers within 10 s, the whole request within 30 s. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Per connection: the key it sent last and that key's digest (see digestOf). */
const DIGESTS = new WeakMap<Socket, { key: string; digest: Buffer }>();

/**
 * The local endpoint: HTTP on 127.0.0.1 and the same API on a Unix socket in a 0700 folder.
 * Every request passes the guards first (Host, Origin, key in the URL, bearer key), then a
 * route; every answer is JSON with `Cache-Control: no-store` and never a CORS header.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const ownerHash = hashKey(options.ownerKey);
  const sockets = new Set<Socket>();

  // Until the TCP port is known no Host can match it, so nothing gets through the Host check.
  let tcpPort = -1;
  const onRequest = options.onRequest ?? (() => undefined);
  const handler = (portOf: () => number | null) => (req: IncomingMessage, res: ServerResponse) => {
    onRequest();
    const fail = (error: unknown) => {
      if (!(error instanceof TokentrayError)) options.logger.error({ err: error, url: req.url }, 'request failed');
      sendFailure(res, error);
    };
    // A route that answers in this turn (a cached token) costs no promise; one that waits
    // returns its promise, and its failure is answered the same way.
    try {
      const pending = handle(req, res, portOf());
      if (pending) pending.catch(fail);
    } catch (error) {
      fail(error);
    }
  };

  function handle(req: IncomingMessage, res: ServerResponse, port: number | null): Promise<void> | void {
    checkHost(req, port);
    const url = requestUrl(req.url);
    checkQuery(url);
    if (options.ui && isUiPath(url.pathname)) return handleUi(options.ui, req, res, url, port);
    checkOrigin(req);
    let matchedPath = false;
    for (const route of ROUTES) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      matchedPath = true;
      if (route.method !== req.method) continue;
      const caller = route.access === 'public' ? ({ kind: 'owner' } as Caller) : authenticate(req);
      if (route.access === 'owner' && caller.kind !== 'owner') {
        throw new TokentrayError('unauthorized', 'this route needs the owner key');
      }
      return route.handle(options, { req, res, url, params: match.slice(1), caller, route: route.name });
    }
    if (matchedPath) sendError(res, 'bad_request', `method ${req.method} is not allowed here`, { allow: ROUTES.filter((r) => r.pattern.test(url.pathname)).map((r) => r.method).join(', ') }, 405);
    else sendError(res, 'not_found', 'no such route');
  }

  function authenticate(req: IncomingMessage): Caller {
    const key = bearerKey(req);
    if (!key) throw new TokentrayError('unauthorized', 'send "Authorization: Bearer <key>"');
    const digest = digestOf(req.socket, key);
    if (sameHash(digest, ownerHash)) return { kind: 'owner' };
    const client = options.clients.authenticate(digest);
    if (!client) throw new TokentrayError('unauthorized', 'unknown or revoked key');
    return { kind: 'client', client };
  }

  /**
   * The key's SHA-256, hashed once per connection while it sends the same key (a tool on
   * keep-alive sends one key thousands of times; hashing it each time was 2.4 µs of a
   * request). Only what this connection sent is compared with what it sent before; the
   * registry lookup still runs on every request, so a revoked key fails at once.
   */
  function digestOf(socket: Socket, key: string): Buffer {
    const seen = DIGESTS.get(socket);
    if (seen?.key === key) return seen.digest;
    const digest = hashKey(key);
    DIGESTS.set(socket, { key, digest });
    return digest;
  }

  function harden(server: Server): Server {
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = 5_000;
    server.maxHeadersCount = 50;
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    // Garbage, oversized headers, timeouts: answer 400 if we can, and close.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && !socket.destroyed) {
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\ncache-control: no-store\r\n\r\n`);
      }
      socket.destroy();
    });
    return server;
  }

  // requireHostHeader: false lets checkHost answer a missing Host with the documented JSON
  // 400 bad_request (and no-store), instead of Node's own bare 400.
  const serverOptions = { maxHeaderSize: 16 * 1024, connectionsCheckingInterval: 1_000, requireHostHeader: false };
  const tcp = harden(createServer(serverOptions, handler(() => tcpPort)));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (tcp.address() as { port: number }).port;
  tcpPort = port;

  let unix: Server | null = null;
  const namedPipe = options.socketPath?.startsWith('\\\\.\\pipe\\') ?? false;
  let socketPath = options.socketPath;
  if (socketPath) {
    if (!namedPipe) {
      socketPath = await privateSocketPath(socketPath, options.logger);
      await rm(socketPath, { force: true });
    }
    unix = harden(createServer(serverOptions, handler(() => null)));
    const previous = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        unix!.once('error', reject);
        unix!.listen(socketPath!, () => resolve());
      });
    } finally {
      process.umask(previous);
    }
    if (!namedPipe) await chmod(socketPath, 0o600);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    socketPath,
    close: async () => {
      const closing = [tcp, unix].filter((s): s is Server => s !== null).map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
      if (socketPath && !namedPipe) await rm(socketPath, { force: true });
      // A fresh folder made because the wanted one was not ours goes with the socket.
      if (socketPath && socketPath !== options.socketPath) await rm(dirname(socketPath), { recursive: true, force: true });
    },
  };
}
