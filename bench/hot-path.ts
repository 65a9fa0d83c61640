// The hot path: a cached token fetched by many tools at once, over loopback HTTP (keep-alive)
// and over the Unix socket, against a bare node:http server that answers the same bytes (body
// and headers, in a process of its own as the broker is) — side by side, in alternating rounds, so the ratio says what the broker costs.
// The guards, the key check, the audit record and the log stay on.
// Goals: ≥ 0.8 × the bare server's requests/s; p99 ≤ 2 × its p99.
import { startBare, type Bare } from './bare.ts';
import { load, type Load } from './load.ts';
import { startDaemon, tokentray, type Daemon } from '../test/fixtures/daemon.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';
import { spread, type Spread } from './stats.ts';
import { procStat } from './proc-stat.ts';

export interface HotPathResult {
  transport: 'tcp' | 'unix';
  rps: Spread;
  p99: Spread;
  bareRps: Spread;
  bareP99: Spread;
  /** broker rps / bare rps, per round. */
  ratio: Spread;
  p99Ratio: Spread;
  errors: number;
  /** The server process's CPU time (user + system) per request answered, µs: steadier than requests/s where the load generator shares the cores. */
  cpuUs: Spread;
  bareCpuUs: Spread;
}

export async function measureHotPath(options: { seconds: number; rounds: number; connections: number }): Promise<HotPathResult[]> {
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  const daemon: Daemon = await startDaemon();
  const bares: Bare[] = [];
  try {
    const added = await tokentray(daemon.env, ['add', 'Bench', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], op.confidentialClient.client_secret);
    if (added.code !== 0) throw new Error(added.stderr);
    const path = '/v1/accounts/bench/token';
    const sample = await fetch(`${daemon.url}${path}`, { headers: { authorization: `Bearer ${daemon.key}` } });
    const body = await sample.text();
    if (sample.status !== 200) throw new Error(`token route answered ${sample.status}: ${body}`);
    const headers = Object.fromEntries(sample.headers);
    const bareTcp = await startBare(body, headers);
    const bareUnix = await startBare(body, headers, { unix: true });
    bares.push(bareTcp, bareUnix);
    const targets = {
      tcp: { broker: { url: daemon.url }, bare: bareTcp },
      unix: { broker: { url: 'http://localhost', socketPath: daemon.socket! }, bare: bareUnix },
    };
    const results: HotPathResult[] = [];
    for (const transport of ['tcp', 'unix'] as const) {
      if (transport === 'unix' && !daemon.socket) continue;
      const broker: Load[] = [];
      const bare: Load[] = [];
      const cpu = { broker: [] as number[], bare: [] as number[] };
      for (let round = 0; round < options.rounds; round++) {
        // Alternate which goes first, so drift on this machine hits both alike.
        const order = round % 2 === 0 ? (['bare', 'broker'] as const) : (['broker', 'bare'] as const);
        for (const who of order) {
          const pid = who === 'broker' ? daemon.pid : targets[transport].bare.pid;
          const before = procStat(pid).cpuTicks;
          const measured = await load(targets[transport][who], path, daemon.key, options.seconds, options.connections);
          // ticks are 1/100 s: 10,000 µs each
          cpu[who].push(((procStat(pid).cpuTicks - before) * 10_000) / Math.max(1, measured.total));
          (who === 'broker' ? broker : bare).push(measured);
        }
      }
      results.push({
        transport,
        rps: spread(broker.map((l) => l.rps)),
        p99: spread(broker.map((l) => l.p99)),
        bareRps: spread(bare.map((l) => l.rps)),
        bareP99: spread(bare.map((l) => l.p99)),
        ratio: spread(broker.map((l, i) => l.rps / bare[i]!.rps)),
        p99Ratio: spread(broker.map((l, i) => l.p99 / Math.max(1, bare[i]!.p99))),
        errors: broker.reduce((n, l) => n + l.errors, 0),
        cpuUs: spread(cpu.broker),
        bareCpuUs: spread(cpu.bare),
      });
    }
    return results;
  } finally {
    for (const bare of bares) bare.stop();
    await daemon.cleanup();
    await op.close();
  }
}
