// How fast is `tokentray token <account>` (the hot path every tool calls), compared with the
// cheapest possible Node process, `node -e 0`, and with `curl` asking the endpoint for the same
// token (no Node start-up at all), measured in the same run on the same machine, alternating?
// Target: median ≤ 1.3 × `node -e 0`. Run by bench/run.ts (npm run bench).
import { spawnSync } from 'node:child_process';
import { startDaemon, tokentray, BIN } from '../test/fixtures/daemon.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 40);

function wall(args: string[], env: NodeJS.ProcessEnv, command = process.execPath): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function measureTokenLatency(rounds = ROUNDS): Promise<{ baselineMs: number; tokenMs: number; ratio: number; curlMs: number }> {
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  const daemon = await startDaemon();
  try {
    const added = await tokentray(daemon.env, ['add', 'Bench', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], op.confidentialClient.client_secret);
    if (added.code !== 0) throw new Error(added.stderr);
    const baseline: number[] = [];
    const token: number[] = [];
    const curl: number[] = [];
    // -f: an error answer fails the round (wall throws), so only a served token is timed.
    const curlArgs = ['-sf', '-o', '/dev/null', '-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/bench/token`];
    for (let i = 0; i < 3; i++) { wall(['-e', '0'], daemon.env); wall([BIN, 'token', 'bench'], daemon.env); } // warm the page cache
    for (let i = 0; i < rounds; i++) {
      baseline.push(wall(['-e', '0'], daemon.env));
      token.push(wall([BIN, 'token', 'bench'], daemon.env));
      curl.push(wall(curlArgs, daemon.env, 'curl'));
    }
    const baselineMs = median(baseline);
    const tokenMs = median(token);
    return { baselineMs, tokenMs, ratio: tokenMs / baselineMs, curlMs: median(curl) };
  } finally {
    await daemon.cleanup();
    await op.close();
  }
}


