// How the CLI reaches the broker: endpoint.json, then HTTP over the Unix socket (or loopback
// TCP). Kept free of schema libraries and broker code: `tokentray token` must start fast.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
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

const EXIT_FOR: Record<string, number> = {
  reauth_required: EXIT.reauthRequired,
  provider_unavailable: EXIT.providerUnavailable,
  account_not_found: EXIT.notFound,
  not_found: EXIT.notFound,
  locked: EXIT.locked,
};

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
  headers: IncomingMessage['headers'];
}

/** One API call. Errors become CliErrors with the exit code the contract gives them. */
export async function call(home: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const endpoint = readEndpoint(home);
  const response = await send(home, endpoint, method, path, body);
  const text = await readAll(response);
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError('bad_request', `the broker answered HTTP ${response.statusCode} with something that is not JSON`, EXIT.failure);
  }
  const status = response.statusCode ?? 0;
  if (status >= 400) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const code = error?.code ?? 'internal';
    throw new CliError(code, error?.message ?? `HTTP ${status}`, EXIT_FOR[code] ?? EXIT.failure);
  }
  return { status, body: json, headers: response.headers };
}

/** A streaming call (sign-in events as JSON lines). */
export async function stream(home: string, method: string, path: string, body: unknown, onLine: (value: Record<string, unknown>) => void): Promise<void> {
  const endpoint = readEndpoint(home);
  const response = await send(home, endpoint, method, path, body);
  if ((response.statusCode ?? 0) >= 400) {
    const text = await readAll(response);
    const error = (JSON.parse(text || '{}') as { error?: { code?: string; message?: string } }).error;
    throw new CliError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.statusCode}`, EXIT_FOR[error?.code ?? ''] ?? EXIT.failure);
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
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { authorization: `Bearer ${endpoint.key}` };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const url = new URL(endpoint.url);
  const target = endpoint.socket ? { socketPath: endpoint.socket } : { host: '127.0.0.1', port: Number(url.port) };
  if (!endpoint.socket) headers['host'] = `127.0.0.1:${url.port}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, method, path, headers }, resolve);
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
