// REQUIREMENTS 13–16 under a siege, everything at once on one running broker: slowloris
// clients, 1 MB bodies, 10,000 connections of random bytes, 100 KB headers, 1,000 requests
// pipelined on one connection, and floods of forged Host and Origin headers — while a tool
// asks for its token every 100 ms as tools do. Goals: no crash, memory bounded, the tool
// answered in < 50 ms throughout; and a secret scan over all of it: no token or client secret
// in any answer but the token route's, in any file under TOKENTRAY_HOME, or in the log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { procStat } from '../../bench/proc-stat.ts';
import { sleep } from '../fixtures/broker-harness.ts';
import { startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { raw, status } from '../fixtures/raw-http.ts';
import { addRotatingAccounts } from '../fixtures/rotating-accounts.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const step of cleanup.reverse()) await step().catch(() => undefined); });

/** Every answer an attacker got, to scan for secrets at the end. */
const answers: string[] = [];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** The tool: curl asking for the token; the time is curl's own (connect to last byte), not its start-up. */
function askToken(daemon: Daemon, id: string): Promise<{ code: number; ms: number; token: string | null }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '-H', `Authorization: Bearer ${daemon.key}`, '-w', '\n%{http_code} %{time_total}', `${daemon.url}/v1/accounts/${id}/token`], { encoding: 'utf8' }, (_error, stdout) => {
      const [body = '', tail = ''] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
      const [code, seconds] = tail.split(' ');
      let token: string | null = null;
      try { token = (JSON.parse(body) as { access_token?: string }).access_token ?? null; } catch { /* not JSON: counted by its code */ }
      resolve({ code: Number(code), ms: Number(seconds) * 1000, token });
    });
  });
}

/** Runs `task` `total` times, `parallel` at a time. */
async function pool(total: number, parallel: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => { while (next < total) await task(next++); }));
}

/** Slowloris: `count` clients each dripping one header line a second, reconnecting when cut, until `stop()`. */
function slowloris(port: number, count: number): { stop: () => void; cuts: number[]; longest: () => number } {
  const cuts: number[] = [];
  const open = new Map<Socket, number>();
  let stopped = false;
  const start = () => {
    const socket = connect(port, '127.0.0.1');
    open.set(socket, Date.now());
    socket.on('error', () => undefined);
    socket.on('data', (d) => answers.push(d.toString('latin1')));
    socket.on('close', () => {
      const since = open.get(socket);
      open.delete(socket);
      if (stopped) return;
      if (since !== undefined) cuts.push(Date.now() - since);
      start();
    });
    socket.write(`GET /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  };
  for (let i = 0; i < count; i++) start();
  const drip = setInterval(() => { for (const socket of open.keys()) if (!socket.destroyed) socket.write(`X-Slow-${randomBytes(4).toString('hex')}: a\r\n`); }, 1_000);
  return {
    cuts,
    longest: () => Math.max(0, ...[...open.values()].map((since) => Date.now() - since)),
    stop: () => {
      stopped = true;
      clearInterval(drip);
      for (const socket of open.keys()) socket.destroy();
    },
  };
}

/** `count` requests pipelined on one connection: how many answers came back, and their statuses. */
function pipelined(port: number, count: number): Promise<{ answered: number; ok: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      answers.push(text);
      resolve({ answered: (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, ok: (text.match(/HTTP\/1\.1 200 /g) ?? []).length });
    };
    const timer = setTimeout(finish, 60_000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if ((text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= count && text.endsWith('}')) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(`GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`.repeat(count));
  });
}

/** One request through a keep-alive agent with headers as given (Host included): status and body. */
function forged(agent: Agent, port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.end();
  });
}

/** Every regular file under `dir`, with its text; sockets and folders are walked past. */
async function filesUnder(dir: string): Promise<Array<{ path: string; text: string }>> {
  const found: Array<{ path: string; text: string }> = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if ((await lstat(path)).isFile()) found.push({ path, text: await readFile(path, 'latin1') });
  }
  return found;
}

test('endpoint abuse, all at once: slowloris, 1 MB bodies, 10,000 garbage connections, 100 KB headers, 1,000 pipelined, forged Host/Origin floods: no crash, memory bounded, the tool answered in < 50 ms, no secret leaks', { timeout: 300_000 }, async () => {
  const op = await TestProvider.start({ accessTokenTtl: 30, clientCredentialsTtl: 30, rotateRefreshTokens: true });
  cleanup.push(() => op.close());
  const daemon = await startDaemon();
  cleanup.push(() => daemon.cleanup());
  await addRotatingAccounts(daemon, op, 2);
  const service = await tokentray(daemon.env, ['add', 'svc', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--json'], op.confidentialClient.client_secret);
  assert.equal(service.code, 0, service.stderr);
  const port = daemon.port;
  const host = `127.0.0.1:${port}`;
  const owner = `Bearer ${daemon.key}`;
  const first = await askToken(daemon, 'svc');
  assert.equal(first.code, 200);
  await sleep(1_000);
  const rssBefore = procStat(daemon.pid).rssMb;

  // The tool, every 100 ms throughout, and the broker's memory, every 200 ms.
  let attacking = true;
  let flooding = true;
  const tool: Array<{ code: number; ms: number; flooding: boolean }> = [];
  const tokensServed = new Set<string>();
  const toolLoop = (async () => {
    while (attacking) {
      const asked = await askToken(daemon, 'svc');
      tool.push({ ...asked, flooding });
      if (asked.token) tokensServed.add(asked.token);
      await sleep(100);
    }
  })();
  let rssPeak = rssBefore;
  const memory = setInterval(() => { try { rssPeak = Math.max(rssPeak, procStat(daemon.pid).rssMb); } catch { /* gone: asserted below */ } }, 200);

  const report: string[] = [];
  const timed = async (name: string, run: () => Promise<string>) => {
    const started = Date.now();
    const outcome = await run();
    report.push(`${name} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${outcome}`);
  };
  const loris = slowloris(port, 200);
  const tally = (statuses: Map<string, number>) => [...statuses].map(([k, v]) => `${v}× ${k}`).join(', ');
  let longestLoris = 0;
  try {
    await Promise.all([
      timed('100 bodies of 1 MB', async () => {
        const seen = new Map<string, number>();
        await pool(100, 10, async (i) => {
          const body = Buffer.alloc(1024 * 1024, 0x7b);
          const auth = i % 2 === 0 ? `Authorization: ${owner}\r\n` : '';
          const r = await raw(port, Buffer.concat([Buffer.from(`POST /v1/accounts HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]), 15_000);
          answers.push(r.text);
          const code = status(r.text);
          assert.ok([401, 413, 0].includes(code), `a 1 MB body got ${code}`);
          seen.set(code ? String(code) : 'closed', (seen.get(code ? String(code) : 'closed') ?? 0) + 1);
        });
        return tally(seen);
      }),
      timed('10,000 connections of random bytes', async () => {
        const seen = new Map<string, number>();
        await pool(10_000, 50, async () => {
          const r = await raw(port, randomBytes(16 + Math.floor(Math.random() * 512)), 5_000);
          answers.push(r.text);
          const code = status(r.text);
          assert.ok(code === 0 || code === 400, `random bytes got ${code}`);
          seen.set(code ? String(code) : 'closed', (seen.get(code ? String(code) : 'closed') ?? 0) + 1);
        });
        return tally(seen);
      }),
      timed('200 requests with 100 KB of headers', async () => {
        const seen = new Map<string, number>();
        await pool(200, 10, async (i) => {
          const big = i % 2 === 0 ? `X-Big: ${'a'.repeat(100 * 1024)}\r\n` : Array.from({ length: 100 }, (_, n) => `X-Many-${n}: ${'b'.repeat(1000)}\r\n`).join('');
          const r = await raw(port, `GET /v1/accounts/svc/token HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${owner}\r\n${big}\r\n`, 10_000);
          answers.push(r.text);
          const code = status(r.text);
          assert.ok(code === 0 || code === 431 || code === 400, `100 KB of headers got ${code}`);
          seen.set(code ? String(code) : 'closed', (seen.get(code ? String(code) : 'closed') ?? 0) + 1);
        });
        return tally(seen);
      }),
      timed('1,000 requests pipelined on one connection', async () => {
        const { answered, ok } = await pipelined(port, 1_000);
        assert.equal(answered, 1_000, 'every pipelined request was answered, in order, on its connection');
        assert.equal(ok, 1_000);
        return `${ok} answered 200`;
      }),
      timed('2,500 forged Host + 2,500 forged Origin (and cross-site) requests with the owner key', async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 20 });
        const hosts = ['evil.example', `localhost.evil.example:${port}`, `127.0.0.1:${port + 1}`, `127.0.0.1.nip.io:${port}`, `[::ffff:127.0.0.1]:${port}`, `LOCALHOST.:${port}`, `127.1:${port}`];
        const origins: Array<Record<string, string>> = [{ origin: 'https://evil.example' }, { origin: 'null' }, { origin: `http://${host}` }, { 'sec-fetch-site': 'cross-site' }];
        const seen = new Map<string, number>();
        await pool(5_000, 20, async (i) => {
          const headers: Record<string, string> = i % 2 === 0 ? { host: hosts[i % hosts.length]!, authorization: owner } : { host, authorization: owner, ...origins[i % origins.length]! };
          const r = await forged(agent, port, '/v1/accounts/svc/token', headers);
          answers.push(r.body);
          const expected = i % 2 === 0 ? 'forbidden_host' : 'forbidden_origin';
          assert.equal(r.status, 403, `${JSON.stringify(headers)} got ${r.status} ${r.body}`);
          assert.match(r.body, new RegExp(expected));
          seen.set(expected, (seen.get(expected) ?? 0) + 1);
        });
        agent.destroy();
        return tally(seen);
      }),
    ]);
    flooding = false;
    // The slowloris clients outlast the rest: until each first one has been cut off (10 s header timeout).
    for (const started = Date.now(); loris.cuts.length < 200 && Date.now() - started < 25_000;) await sleep(250);
  } finally {
    longestLoris = loris.longest();
    loris.stop();
    attacking = false;
    await toolLoop;
    clearInterval(memory);
  }

  // No crash, memory bounded, every slow client cut off by the header timeout.
  assert.equal(daemon.process.exitCode, null, `the broker is still running:\n${daemon.output().slice(-2000)}`);
  assert.equal(daemon.process.signalCode, null);
  const health = await raw(port, `GET /v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  assert.equal(status(health.text), 200);
  report.push(`200 slowloris clients: ${loris.cuts.length} cut off, after ${Math.min(...loris.cuts)}-${Math.max(...loris.cuts)} ms; the longest still open at the end had been for ${longestLoris} ms`);
  assert.ok(loris.cuts.length >= 200, `every slowloris client was cut off (${loris.cuts.length})`);
  assert.ok(Math.max(...loris.cuts, longestLoris) < 20_000, 'slow clients are cut within the 10 s header timeout (+ the 1 s check)');
  const growth = rssPeak - rssBefore;
  report.push(`broker RSS ${rssBefore.toFixed(0)} MB before, peak ${rssPeak.toFixed(0)} MB (+${growth.toFixed(0)} MB)`);

  // The tool was answered throughout, fast.
  const times = tool.map((t) => t.ms).sort((a, b) => a - b);
  const flood = tool.filter((t) => t.flooding).map((t) => t.ms).sort((a, b) => a - b);
  const failed = tool.filter((t) => t.code !== 200);
  report.push(`the tool: ${tool.length} token requests, ${failed.length} failed; median ${percentile(times, 0.5).toFixed(1)} ms, p90 ${percentile(times, 0.9).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms; the ${flood.length} during the floods: median ${percentile(flood, 0.5).toFixed(1)} ms, p90 ${percentile(flood, 0.9).toFixed(1)} ms, max ${flood.at(-1)!.toFixed(1)} ms`);
  console.log(report.map((line) => `# ${line}`).join('\n'));
  assert.ok(growth < 150, `the broker grew by ${growth.toFixed(0)} MB under the siege`);
  assert.equal(failed.length, 0, `token requests that failed: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(tool.length >= 20, `the tool asked ${tool.length} times`);
  assert.ok(flood.length >= 10, `the tool asked ${flood.length} times during the floods`);
  assert.ok(percentile(times, 0.5) < 50 && percentile(flood, 0.9) < 50, 'the tool is answered in < 50 ms, during the floods too');

  // The secret scan: what no attacker, file or log line may hold.
  const secrets = [...op.issuedAccessTokens, ...op.issuedRefreshTokens, op.confidentialClient.client_secret, daemon.key];
  assert.ok(op.issuedRefreshTokens.length >= 2 && tokensServed.size >= 1);
  const leakedTo = (where: string, text: string) => {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) reached ${where}`);
  };
  leakedTo('an attacker', answers.join('\n'));
  leakedTo('the log', daemon.output());
  const files = await filesUnder(daemon.home);
  for (const file of files) {
    if (file.path.endsWith('endpoint.json')) {
      // The owner key lives there (0600, REQUIREMENTS 12); no token or client secret does.
      for (const secret of secrets.filter((s) => s !== daemon.key)) assert.ok(!file.text.includes(secret), `a secret reached ${file.path}`);
    } else {
      leakedTo(file.path, file.text);
    }
  }
  console.log(`# secret scan: ${secrets.length} secrets, none in ${answers.length} attacker answers, ${files.length} files under TOKENTRAY_HOME or ${daemon.output().length} bytes of log`);
});
