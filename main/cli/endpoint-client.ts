// How the CLI reaches the broker: endpoint.json, then HTTP over the Unix socket (or loopback
// TCP). Kept free of schema libraries and broker code: `tokentray token` must start fast.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { EXIT } from './exit-codes.ts';

export interface Endpoint {
  url: string;
  socket: string | null;
  key: string;
  pid: number;
}

export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string;
  constructor(code: string, message: string, exitCode: number) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

// Start-up cost matters here (`tokentray token` runs before every git push). node:http costs
// ~14 ms to load even from CommonJS, so plain calls speak HTTP/1.1 over node:net themselves
// (the broker always answers them with a Content-Length), and only streaming calls load
// node:http. The fast path bundles this file as CommonJS (main/cli/tool-commands.ts), where
// the node:fs and node:net imports cost no ES module facade.

const EXIT_FOR: Record<string, number> = {
  reauth_required: EXIT.reauthRequired,
  provider_unavailable: EXIT.providerUnavailable,
  account_not_found: EXIT.notFound,
  not_found: EXIT.notFound,
  locked: EXIT.locked,
};

/** The exit code for an error code from the broker (PRODUCT.md "Exit codes"). */
export function exitCodeFor(code: string | undefined): number {
  return EXIT_FOR[code ?? ''] ?? EXIT.failure;
}

export function notRunning(home: string): CliError {
  return new CliError('broker_not_running', `no broker is running for ${home}. Start one with "tokentray serve" (or open the Tokentray app).`, EXIT.brokerNotRunning);
}

export function readEndpoint(home: string): Endpoint {
  let raw: string;
  try {
    raw = readFileSync(join(home, 'endpoint.json'), 'utf8');
  } catch {
    throw notRunning(home);
  }
  try {
    const parsed = JSON.parse(raw) as Partial<Endpoint>;
    if (typeof parsed.url !== 'string' || typeof parsed.key !== 'string') throw new Error('shape');
    return { url: parsed.url, socket: typeof parsed.socket === 'string' ? parsed.socket : null, key: parsed.key, pid: Number(parsed.pid) };
  } catch {
    throw new CliError('bad_request', `${join(home, 'endpoint.json')} is unreadable; restart the broker`, EXIT.failure);
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/**
 * How long a command waits for the broker's answer. A frozen broker (`kill -STOP`, a debugger)
 * accepts connections and never answers: tools (token, git, kubectl) must still exit in time
 * (PRODUCT: within 10 s); the person's own commands may wait for a slow provider longer.
 */
export const TOOL_TIMEOUT_MS = 9_000;
export const COMMAND_TIMEOUT_MS = 90_000;

/** One API call. Errors become CliErrors with the exit code the contract gives them. */
export async function call(home: string, method: string, path: string, body?: unknown, options: { timeoutMs?: number } = {}): Promise<ApiResponse> {
  const endpoint = readEndpoint(home);
  const response = await plainRequest(home, endpoint, method, path, body, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  let json: unknown = null;
  try {
    json = response.text ? JSON.parse(response.text) : null;
  } catch {
    throw new CliError('bad_request', `the broker answered HTTP ${response.status} with something that is not JSON`, EXIT.failure);
  }
  if (response.status >= 400) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const code = error?.code ?? 'internal';
    throw new CliError(code, error?.message ?? `HTTP ${response.status}`, exitCodeFor(code));
  }
  return { status: response.status, body: json, headers: response.headers };
}

function requestHead(endpoint: Endpoint, method: string, path: string, payload: string | undefined): { head: Record<string, string>; target: { path: string } | { host: string; port: number } } {
  const head: Record<string, string> = { authorization: `Bearer ${endpoint.key}` };
  if (payload !== undefined) {
    head['content-type'] = 'application/json';
    head['content-length'] = String(Buffer.byteLength(payload));
  }
  const port = Number(new URL(endpoint.url).port);
  head['host'] = endpoint.socket ? 'localhost' : `127.0.0.1:${port}`;
  return { head, target: endpoint.socket ? { path: endpoint.socket } : { host: '127.0.0.1', port } };
}

/** HTTP/1.1 over node:net: one request, `Connection: close`, the whole answer read to its end. */
function plainRequest(home: string, endpoint: Endpoint, method: string, path: string, body: unknown, timeoutMs: number): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { head, target } = requestHead(endpoint, method, path, payload);
  return new Promise((resolve, reject) => {
    const socket = connect(target as { path: string });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CliError('broker_not_running', `the broker (pid ${endpoint.pid}) did not answer within ${Math.round(timeoutMs / 1000)} s: it may be stopped or frozen`, EXIT.brokerNotRunning));
    }, timeoutMs);
    socket.on('close', () => clearTimeout(timer));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') reject(notRunning(home));
      else reject(new CliError('internal', `cannot reach the broker: ${error.message}`, EXIT.failure));
    });
    socket.on('end', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new CliError('internal', 'the broker closed the connection without an answer', EXIT.failure));
        return;
      }
      const [statusLine = '', ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      const text = raw.subarray(split + 4, length === undefined ? undefined : split + 4 + length).toString('utf8');
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, text });
    });
    const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(head).map(([k, v]) => `${k}: ${v}`), 'connection: close', '', ''];
    // write, not end: the server would take a half-close for a hang-up. It closes after answering.
    socket.write(payload === undefined ? lines.join('\r\n') : lines.join('\r\n') + payload);
  });
}

/** A streaming call (sign-in events as JSON lines). */
export async function stream(home: string, method: string, path: string, body: unknown, onLine: (value: Record<string, unknown>) => void): Promise<void> {
  const endpoint = readEndpoint(home);
  const response = await send(home, endpoint, method, path, body);
  if ((response.statusCode ?? 0) >= 400) {
    const text = await readAll(response);
    const error = (JSON.parse(text || '{}') as { error?: { code?: string; message?: string } }).error;
    throw new CliError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.statusCode}`, exitCodeFor(error?.code));
  }
  let buffer = '';
  for await (const chunk of response as AsyncIterable<Buffer>) {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  }
}

function send(home: string, endpoint: Endpoint, method: string, path: string, body: unknown): Promise<IncomingMessage> {
  const { request: httpRequest } = process.getBuiltinModule('node:http');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { head, target } = requestHead(endpoint, method, path, payload);
  const where = 'path' in target ? { socketPath: target.path } : target;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...where, method, path, headers: head }, resolve);
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') reject(notRunning(home));
      else reject(new CliError('internal', `cannot reach the broker: ${error.message}`, EXIT.failure));
    });
    req.end(payload);
  });
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
