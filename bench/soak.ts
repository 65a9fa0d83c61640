// `npm run soak -- --minutes N [--record]`: a broker lives with 100 accounts whose access tokens
// last 30 s (90 client-credentials accounts and 10 whose refresh tokens rotate on a provider that
// revokes on reuse), while tools ask for tokens continuously and a watcher lists the accounts
// every second. Every minute it prints token requests and failures, refreshes at the provider,
// the broker's CPU and RSS (and its keychain process's). Goals: 0 failed token requests, no
// account ever listed `valid` with an expired access token, and RSS growth < 10 % after the
// first 5 minutes. Exits non-zero when one is missed; `--record` appends the run to
// docs/BENCHMARKS.md.
import { appendFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../main/core/accounts/account-store.ts';
import { Broker } from '../main/core/broker/broker.ts';
import { createLogger } from '../main/core/log/logger.ts';
import { Vault } from '../main/core/vault/vault.ts';
import { chromiumOpener } from '../test/fixtures/broker-harness.ts';
import { freshHome, startDaemon } from '../test/fixtures/daemon.ts';
import { privateService, realKeychain } from '../test/fixtures/keychain.ts';
import { keychainWorkerPids } from '../test/fixtures/process-resources.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';
import { procStat } from './proc-stat.ts';
import { watchValidExpired } from './valid-expired.ts';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = inline ? inline.split('=')[1] : at >= 0 ? process.argv[at + 1] : undefined;
  return value === undefined ? fallback : Number(value);
};
const minutes = arg('minutes', 30);
const accountsTotal = arg('accounts', 100);
const rotatingCount = Math.min(arg('rotating', 10), accountsTotal);
const tools = arg('tools', 8);
const minuteMs = arg('minute-ms', 60_000); // a shorter "minute" for a quick check of the script
const record = process.argv.includes('--record');
if (!(minutes > 0) || !(accountsTotal > 0)) {
  console.error('usage: npm run soak -- --minutes N [--accounts 100] [--rotating 10] [--tools 8] [--record]');
  process.exit(2);
}

const op = await TestProvider.start({ clientCredentialsTtl: 30, accessTokenTtl: 30, rotateRefreshTokens: true, reuseGraceMs: 0 });
const home = await freshHome();
const service = privateService('soak');
const { logger, redactor } = createLogger({ level: 'warn' });

// Accounts created through the core (the rotating ones signed in through Chromium), then the
// real `tokentray serve` on them.
{
  const accounts = new AccountStore({ home, logger });
  await accounts.load();
  const vault = new Vault({ store: realKeychain(service), logger, redactor });
  const broker = new Broker({ accounts, vault, logger, watchSleep: false, browser: chromiumOpener(op) });
  for (let i = 0; i < rotatingCount; i++) {
    const id = `rot-${String(i).padStart(3, '0')}`;
    await broker.addAccount({ id, name: id, flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await broker.signIn(id);
  }
  const services = Array.from({ length: accountsTotal - rotatingCount }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < services.length; i += 8) {
    await Promise.all(services.slice(i, i + 8).map(async (id) => {
      await broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await broker.signIn(id);
    }));
  }
  broker.stop();
  await broker.settle();
  await accounts.flush();
  await vault.settle();
}
const daemon = await startDaemon({ home, service, env: { TOKENTRAY_LOG_LEVEL: 'warn' } });
const headers = { authorization: `Bearer ${daemon.key}` };
const ids = (await (await fetch(`${daemon.url}/v1/accounts`, { headers })).json() as { accounts: Array<{ id: string }> }).accounts.map((a) => a.id);

const totals = { requests: 0, failures: 0 };
const failureExamples: string[] = [];
let stopping = false;

async function tool(): Promise<void> {
  while (!stopping) {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    totals.requests++;
    try {
      const response = await fetch(`${daemon.url}/v1/accounts/${id}/token`, { headers });
      const body = (await response.json()) as { expires_in?: number; error?: { code?: string } };
      if (response.status !== 200 || !(typeof body.expires_in === 'number' && body.expires_in > 0)) {
        totals.failures++;
        if (failureExamples.length < 10) failureExamples.push(`${id}: HTTP ${response.status} ${body.error?.code ?? `expires_in ${body.expires_in}`}`);
      }
    } catch (error) {
      totals.failures++;
      if (failureExamples.length < 10) failureExamples.push(`${id}: ${String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const refreshes = () => op.requests('client_credentials') + op.requests('refresh_token');
const memory = () => {
  const worker = keychainWorkerPids(daemon.pid)[0];
  return { broker: procStat(daemon.pid), workerRssMb: worker ? procStat(worker).rssMb : 0 };
};

console.log(`soak: ${ids.length} accounts (${rotatingCount} rotating), 30 s tokens, ${tools} tools asking continuously, ${minutes} minute(s)`);
console.log('minute  requests  failures  refreshes  valid+expired  CPU %  broker RSS MB  keychain RSS MB');
const running = Array.from({ length: tools }, () => tool());
const watch = watchValidExpired(daemon.url, daemon.key);
const rssByMinute: number[] = [];
let last = { requests: 0, failures: 0, refreshes: refreshes(), cpu: procStat(daemon.pid).cpuTicks };
for (let minute = 1; minute <= minutes; minute++) {
  await new Promise((resolve) => setTimeout(resolve, minuteMs));
  const m = memory();
  const now = { requests: totals.requests, failures: totals.failures, refreshes: refreshes(), cpu: m.broker.cpuTicks };
  const cpu = (now.cpu - last.cpu) / (minuteMs / 1000);
  rssByMinute.push(m.broker.rssMb);
  console.log([String(minute).padStart(6), String(now.requests - last.requests).padStart(9), String(now.failures - last.failures).padStart(9), String(now.refreshes - last.refreshes).padStart(10), String(watch.totals.validExpired).padStart(14), cpu.toFixed(1).padStart(6), m.broker.rssMb.toFixed(0).padStart(14), m.workerRssMb.toFixed(0).padStart(16)].join(' '));
  last = now;
}
stopping = true;
await Promise.all(running);
const sampled = await watch.stop();
failureExamples.push(...sampled.examples.slice(0, 10 - failureExamples.length));

// Growth after the first 5 minutes: the broker's RSS is a sawtooth under this load (collections
// free 60–90 MB at a time), so one minute's sample against another measures where each fell on
// the saw. Growth is the envelope's: the highest RSS of the last 5 minutes against the highest
// of the 5 after the first 5 (in a short run, the first and second half after the first minute).
const settled = rssByMinute.length >= 15 ? 5 : Math.min(1, rssByMinute.length - 1);
const width = Math.max(1, Math.min(5, Math.floor((rssByMinute.length - settled) / 2)));
const early = rssByMinute.slice(settled, settled + width);
const late = rssByMinute.slice(-width);
const base = Math.max(...early);
const end = Math.max(...late);
const growth = (end - base) / base;
const window = (from: number, count: number) => (count === 1 ? `minute ${from + 1}` : `minutes ${from + 1}–${from + count}`);
const grant = { reused: op.counters.reusedRefreshTokens, invalidGrant: op.counters.errors['invalid_grant'] ?? 0 };
const rows = [
  { figure: `soak: token requests over ${minutes} min (${ids.length} accounts, 30 s tokens, ${tools} tools)`, measured: `${totals.requests} requests, ${totals.failures} failed`, goal: '0 failed', met: totals.failures === 0 },
  { figure: 'soak: accounts listed `valid` with an expired access token (sampled every second)', measured: `${sampled.validExpired} in ${sampled.samples} samples`, goal: '0', met: sampled.validExpired === 0 },
  { figure: 'soak: grants lost (a spent refresh token presented again, invalid_grant)', measured: `${grant.reused} reused, ${grant.invalidGrant} invalid_grant`, goal: '0', met: grant.reused === 0 && grant.invalidGrant === 0 },
  { figure: `soak: broker RSS growth after minute ${settled} (highest RSS of ${window(settled, width)} → of ${window(rssByMinute.length - width, width)})`, measured: `${(growth * 100).toFixed(1)} % (${base.toFixed(0)} → ${end.toFixed(0)} MB; lowest of the run ${Math.min(...rssByMinute).toFixed(0)} MB)`, goal: '< 10 %', met: growth < 0.1 },
];
for (const r of rows) console.log(`${r.met ? 'ok  ' : 'MISS'} ${r.figure}: ${r.measured} (goal ${r.goal})`);
if (failureExamples.length > 0) console.log(`first failures:\n  ${failureExamples.join('\n  ')}`);
if (record) {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const table = ['', `## Soak, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine}`, '', '| figure | measured | goal | met |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.figure} | ${r.measured} | ${r.goal} | ${r.met ? 'yes' : '**no**'} |`), '', `Per minute (broker RSS MB): ${rssByMinute.map((v) => v.toFixed(0)).join(', ')}.`, ''];
  await appendFile(join(process.cwd(), 'docs', 'BENCHMARKS.md'), table.join('\n'));
}
await daemon.cleanup();
await op.close();
const missed = rows.filter((r) => !r.met).length;
console.log(`${rows.length - missed} goals met, ${missed} missed`);
process.exit(missed === 0 ? 0 : 1);
