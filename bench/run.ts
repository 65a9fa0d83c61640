// `npm run bench`: every benchmark, each as a ratio against a baseline measured side by side in
// the same run, with min/median/max over its rounds; the results are appended, dated and with
// the machine, to docs/BENCHMARKS.md. Exits non-zero when a goal is missed, so a regression shows.
// `npm run bench -- --short`: the short form CI runs — counts and generous ceilings, no timing goals.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureHotPath } from './hot-path.ts';
import { profileHotPath } from './profile.ts';
import { measureScale, type KeyringMode } from './scale.ts';
import { fmt } from './stats.ts';
import { measureTokenLatency } from './token-latency.ts';

// `npm run bench -- --profile`: the hot path under the CPU profiler instead (bench/profile.ts).
if (process.argv.includes('--profile')) {
  await profileHotPath();
  process.exit(0);
}

const short = process.argv.includes('--short');
const rows: Array<{ figure: string; measured: string; goal: string; met: boolean }> = [];
const row = (figure: string, measured: string, goal: string, met: boolean) => {
  rows.push({ figure, measured, goal, met });
  console.log(`${met ? 'ok  ' : 'MISS'} ${figure}: ${measured} (goal ${goal})`);
};

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? null;
const hot = only && only !== 'hot' ? [] : await measureHotPath(short ? { seconds: 2, rounds: 1, connections: 20 } : { seconds: 10, rounds: 5, connections: 50 });
for (const r of hot) {
  const label = r.transport === 'tcp' ? 'loopback HTTP' : 'Unix socket';
  const rpsGoal = short ? 0.2 : 0.8;
  row(`hot path, ${label}: requests/s vs bare node:http`, `${fmt(r.ratio)} × (${Math.round(r.rps.median)} vs ${Math.round(r.bareRps.median)} req/s)`, `≥ ${rpsGoal} ×`, r.ratio.median >= rpsGoal && r.errors === 0);
  const p99Goal = short ? 10 : 2;
  row(`hot path, ${label}: server CPU per request (user + system)`, `${fmt(r.cpuUs, 1)} µs vs ${fmt(r.bareCpuUs, 1)} µs = ${(r.cpuUs.median / r.bareCpuUs.median).toFixed(2)} ×`, '(no goal: reported)', true);
  row(`hot path, ${label}: p99 vs bare`, `${fmt(r.p99Ratio)} × (${r.p99.median} vs ${r.bareP99.median} ms)`, `≤ ${p99Goal} ×`, r.p99Ratio.median <= p99Goal);
}

const cli = only && only !== 'cli' ? null : await measureTokenLatency(short ? 10 : 40);
const cliGoal = short ? 3 : 1.3;
if (cli) {
  row('CLI: tokentray token vs node -e 0 (median wall time)', `${cli.ratio.toFixed(2)} × (${cli.tokenMs.toFixed(1)} vs ${cli.baselineMs.toFixed(1)} ms)`, `≤ ${cliGoal} ×`, cli.ratio <= cliGoal);
  row('CLI: tokentray token vs curl asking the endpoint for the same token (median wall time)', `${(cli.tokenMs / cli.curlMs).toFixed(2)} × (${cli.tokenMs.toFixed(1)} vs ${cli.curlMs.toFixed(1)} ms)`, '(no goal: reported)', true);
}

// `--accounts=N` (e.g. 10000) measures scale at N accounts; the goals scale from 1,000 linearly.
// `--keyring=session`: the records in gnome-keyring's in-memory collection; `--keyring=none`:
// no Secret Service, memory-only mode (see bench/scale.ts).
const keyringArg = process.argv.find((a) => a.startsWith('--keyring='))?.slice(10) ?? 'file';
if (!['file', 'session', 'none'].includes(keyringArg)) throw new Error(`--keyring=${keyringArg}: expected file, session or none`);
const keyring = keyringArg as KeyringMode;
const accounts = Number(process.argv.find((a) => a.startsWith('--accounts='))?.slice(11) ?? (short ? 100 : 1000));
const scale = only && only !== 'scale' ? null : await measureScale(short ? { accounts, idleSeconds: 5, loadSeconds: 2 } : { accounts, idleSeconds: 60, settleSeconds: 65, loadSeconds: 5, ...(accounts <= 1000 ? { spreadTtlSeconds: 400 } : {}), keyring });
if (scale) {
  const n = scale.accounts;
  const where = { file: '', session: " (gnome-keyring's in-memory collection)", none: ' (memory-only mode: no keychain)' }[keyring];
  const per1000 = (ms: number) => (ms / n) * 1000;
  const thousands = Math.max(1, n / 1000);
  // 150 MB at 1,000 accounts, and each further account no dearer than the first thousand's allowance.
  const rssGoal = n <= 1000 ? 150 : scale.emptyRssMb + (150 - scale.emptyRssMb) * thousands;
  row(`scale, ${n} accounts${where}: start → ready (empty broker: ${(scale.emptyStartMs / 1000).toFixed(2)} s)`, `${(scale.startMs / 1000).toFixed(2)} s = ${(per1000(scale.startMs) / 1000).toFixed(2)} s per 1,000`, short ? '≤ 10 s per 1,000' : '≤ 1 s per 1,000', per1000(scale.startMs) <= (short ? 10_000 : 1_000));
  row(`scale, ${n} accounts${where}: every account checked in the background (records read, refreshes planned)`, `${(scale.checkedMs / 1000).toFixed(1)} s`, '(no goal: reported)', true);
  if (scale.settleSeconds > 1) row(`scale, ${n} accounts${where}: CPU in the ${scale.settleSeconds} s after the last request (the tail of the work before: writes, memory trim)`, `${scale.settleCpuPercent.toFixed(2)} % of a core = ${((scale.settleCpuPercent / 100) * scale.settleSeconds * 1000).toFixed(0)} ms`, '(no goal: reported)', true);
  row(`scale, ${n} accounts${where}: idle CPU over ${scale.idleSeconds} s`, `${scale.idleCpuPercent.toFixed(2)} % of a core`, short ? '≤ 5 %' : '≤ 0.5 %', scale.idleCpuPercent <= (short ? 5 : 0.5));
  if (scale.restartIdleCpuPercent !== null && scale.restartSettleSeconds > 1) row(`scale, ${n} accounts${where}: CPU in the ${scale.restartSettleSeconds} s after a restart (the start-up check's tail: its status changes written within a minute, memory trim)`, `${scale.restartSettleCpuPercent.toFixed(2)} % of a core = ${((scale.restartSettleCpuPercent / 100) * scale.restartSettleSeconds * 1000).toFixed(0)} ms`, '(no goal: reported)', true);
  if (scale.restartIdleCpuPercent !== null) row(`scale, ${n} accounts${where}: idle CPU over ${scale.idleSeconds} s after a restart (every account waiting for the keychain)`, `${scale.restartIdleCpuPercent.toFixed(2)} % of a core`, short ? '≤ 5 %' : '≤ 0.5 %', scale.restartIdleCpuPercent <= (short ? 5 : 0.5));
  if (scale.restart) {
    const r = scale.restart;
    row(`scale, ${n} accounts${where}: what a restart says (every token lived in memory only)`, `${r.statuses}; a token request: ${r.tokenStatus} ${r.tokenCode}`, 'none `valid`; a token request 503 keychain_unavailable, never 500', r.valid === 0 && r.tokenStatus === 503 && r.tokenCode === 'keychain_unavailable');
  }
  row(`scale, ${n} accounts${where}: provider requests while idle`, String(scale.idleProviderRequests), '0', scale.idleProviderRequests === 0);
  row(`scale, ${n} accounts${where}: RSS (empty broker ${scale.emptyRssMb.toFixed(0)} MB)`, `${scale.rssMb.toFixed(0)} MB`, n <= 1000 ? '≤ 150 MB at 1,000' : `≤ ${rssGoal.toFixed(0)} MB (150 at 1,000, linear)`, scale.rssMb <= rssGoal);
  const listGoal = short ? 100 : 10 * thousands;
  row(`scale, ${n} accounts${where}: GET /v1/accounts p99, one client (bare server, same bytes: ${scale.bareListP99Ms} ms)`, `${scale.listP99Ms} ms`, `≤ ${listGoal} ms`, scale.listP99Ms <= listGoal);
  const refreshGoalS = 30 * thousands;
  row(`scale, ${n} accounts${where}: all refreshing at once`, `${(scale.refreshAllMs / 1000).toFixed(1)} s, ${scale.refreshFailures} failed, at most ${scale.providerPeakInFlight} at once at the provider`, `≤ ${refreshGoalS} s, 0 failed, ≤ 8 at once`, scale.refreshAllMs <= refreshGoalS * 1000 && scale.refreshFailures === 0 && scale.providerPeakInFlight <= 8);
  if (scale.spread) {
    const s = scale.spread;
    row(`scale, ${n} accounts${where}: their next refreshes (${s.ttlSeconds} s tokens issued together) spread out`, `${s.refreshes} refreshes over ${s.overSeconds} s, busiest second ${s.busiestSecond} = ${(s.busiestShare * 100).toFixed(1)} %`, `each account once, no second > 5 %`, s.refreshes >= n - 1 && s.refreshes <= n + 1 && s.busiestShare <= 0.05);
  }

  const v = scale.validExpired;
  row(`scale, ${n} accounts${where}: accounts listed \`valid\` with an expired access token (sampled every second, outside the idle and list-latency windows)`, `${v.validExpired} in ${v.samples} samples${v.examples.length ? ` (${v.examples.slice(0, 3).join('; ')})` : ''}`, '0', v.validExpired === 0);

  row('fan-in: 1,000 concurrent refresh requests on one account', `${scale.fanInRequests} provider request(s), all answered in ${(scale.fanInMs / 1000).toFixed(2)} s, ${scale.fanInFailures} failed`, 'exactly 1 request, 0 failed', scale.fanInRequests === 1 && scale.fanInFailures === 0);
}

if (!short && rows.length > 0) {
  const file = join(process.cwd(), 'docs', 'BENCHMARKS.md');
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (!existing) await writeFile(file, '# Benchmarks\n\nAppended by `npm run bench` (ratios against a baseline measured in the same run; median (min–max) of the rounds).\n');
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const table = ['', `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine}`, '', '| figure | measured | goal | met |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.figure} | ${r.measured} | ${r.goal} | ${r.met ? 'yes' : '**no**'} |`), ''];
  await appendFile(file, table.join('\n'));
}
const missed = rows.filter((r) => !r.met).length;
console.log(`${rows.length - missed} goals met, ${missed} missed`);
process.exit(missed === 0 ? 0 : 1);
