import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Bare {
  url: string;
  socketPath?: string;
  pid: number;
  stop(): void;
}

const DROP = ['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'];

/** Starts bench/bare-server.ts in its own process, answering `body` with `headers` (minus per-connection ones). */
export async function startBare(body: string, headers: Record<string, string>, options: { unix?: boolean } = {}): Promise<Bare> {
  const dir = await mkdtemp(join(tmpdir(), 'tt-bare-'));
  const socketPath = options.unix ? join(dir, 'bare.sock') : undefined;
  const spec = join(dir, 'spec.json');
  await writeFile(spec, JSON.stringify({ body, headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !DROP.includes(name))), ...(socketPath ? { path: socketPath } : {}) }));
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'bare-server.ts'), spec], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(String(d).trim().split(' ')[1] ?? ''));
    child.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
  });
  return { pid: child.pid!, url: socketPath ? 'http://localhost' : `http://127.0.0.1:${port}`, ...(socketPath ? { socketPath } : {}), stop: () => child.kill('SIGTERM') };
}
