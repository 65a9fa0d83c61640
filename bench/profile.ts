// `npm run bench -- --profile`: where the broker's time goes on the hot path. `tokentray serve`
// runs under `node --cpu-prof` while autocannon fetches a cached token (50 connections, 10 s,
// loopback HTTP); then the profile is summed up: self time per function, and per file group
// (node's own, this project's, each dependency). The .cpuprofile stays for a flame graph
// (Chrome DevTools → Performance → Load profile, or speedscope).
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, tokentray } from '../test/fixtures/daemon.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';
import { load } from './load.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) per function and per file group of a V8 CPU profile. */
export function summarise(profile: CpuProfile): { total: number; functions: Array<[string, number]>; groups: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    total += ms;
    const where = frame.url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
    const name = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const group = !where ? `(${frame.functionName || 'vm'})` : where.startsWith('node:') ? 'node internals' : /node_modules\/((@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? (where.startsWith('main/') || where.startsWith('shared/') ? where.split('/').slice(0, 3).join('/') : where);
    groups.set(group, (groups.get(group) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, functions: sorted(functions), groups: sorted(groups) };
}

export async function profileHotPath(seconds = 10, connections = 50): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tokentray-profile-'));
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  const daemon = await startDaemon({ env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`, TOKENTRAY_LOG_LEVEL: 'info' } });
  try {
    const added = await tokentray(daemon.env, ['add', 'Bench', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], op.confidentialClient.client_secret);
    if (added.code !== 0) throw new Error(added.stderr);
    const measured = await load({ url: daemon.url }, '/v1/accounts/bench/token', daemon.key, seconds, connections);
    console.log(`# ${Math.round(measured.rps)} req/s, p99 ${measured.p99} ms, ${measured.errors} errors (under the profiler)`);
    await daemon.stop(); // a clean exit writes the profile
  } finally {
    await daemon.cleanup();
    await op.close();
  }
  const file = (await readdir(dir)).find((name) => name.includes(`.${daemon.pid}.`));
  if (!file) throw new Error(`no profile of the broker (pid ${daemon.pid}) in ${dir}`);
  const { total, functions, groups } = summarise(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile);
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`\nself time by file group (${(total / 1000).toFixed(1)} s sampled):`);
  for (const [group, ms] of groups.slice(0, 15)) console.log(`${pct(ms)}  ${group}`);
  console.log('\nself time by function:');
  for (const [name, ms] of functions.slice(0, 30)) console.log(`${pct(ms)}  ${name}`);
  console.log(`\nprofile: ${join(dir, file)}`);
}
