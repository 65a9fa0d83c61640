// REQUIREMENTS 17–18 against the worst provider: one that rotates the refresh token on every
// refresh, revokes the whole grant when a spent one comes back, and has no grace window. The
// broker is SIGKILLed at random moments during continuous rotation and restarted on the same
// data folder and keychain each time: no grant may be lost, no record may fail its checksum.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { freshHome, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { addRotatingAccounts } from '../fixtures/rotating-accounts.ts';
import { privateService, storedRecord } from '../fixtures/keychain.ts';
import { seeded } from '../fixtures/seeded.ts';
import { brokerHarness } from '../fixtures/broker-harness.ts';
import type { SecretStore } from '../../main/core/vault/secret-store.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const KILLS = Number(process.env['TOKENTRAY_CRASH_KILLS'] ?? 100);
const ACCOUNTS = 5;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const step of cleanup.reverse()) await step().catch(() => undefined); });

test(`${KILLS} SIGKILLs during continuous rotation (2 s tokens, reuse revokes the grant): 0 grants lost, 0 corrupt records`, { timeout: 600_000 }, async () => {
  const seed = Number(process.env['TOKENTRAY_CRASH_SEED'] ?? Date.now() % 1_000_000);
  const random = seeded(seed);
  const op = await TestProvider.start({ accessTokenTtl: 2, rotateRefreshTokens: true, reuseGraceMs: 0 });
  cleanup.push(() => op.close());
  const home = await freshHome();
  const service = privateService('crash');
  let daemon: Daemon = await startDaemon({ home, service });
  cleanup.push(() => daemon.cleanup());
  const ids = await addRotatingAccounts(daemon, op, ACCOUNTS);
  const rotationsBefore = op.issuedRefreshTokens.length;
  const started = Date.now();
  const killed: Daemon[] = [];
  const outputs: string[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    // Up to 1.5 s alive: each account rotates about once a second, so every kill lands in a
    // stretch with rotations in flight, and some during the start's own refreshes.
    await new Promise((resolve) => setTimeout(resolve, 50 + random() * 1_450));
    process.kill(daemon.pid, 'SIGKILL');
    await daemon.stop();
    killed.push(daemon); // its keychain process may still write to the same output
    daemon = await startDaemon({ home, service });
  }
  // The last broker runs on: every account must keep rotating.
  const rotationsAtEnd = op.issuedRefreshTokens.length;
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const rotations = op.issuedRefreshTokens.length - rotationsBefore;
  for (const d of killed) outputs.push(d.output());
  const recovered = outputs.join('\n').split('\n').filter((l) => l.includes('applied refresh answers that a crashed broker')).length
    + daemon.output().split('\n').filter((l) => l.includes('applied refresh answers that a crashed broker')).length;
  if (process.env['TOKENTRAY_CRASH_LOG']) (await import('node:fs')).writeFileSync(process.env['TOKENTRAY_CRASH_LOG'], [...outputs, daemon.output()].join('\n----- restart -----\n'));
  console.log(`# seed ${seed}: ${KILLS} kills in ${Math.round((Date.now() - started) / 1000)} s, ${rotations} rotations, ${recovered} start(s) applied journalled answers, reused refresh tokens: ${op.counters.reusedRefreshTokens}, invalid_grant: ${op.counters.errors['invalid_grant'] ?? 0}`);
  assert.equal(op.counters.reusedRefreshTokens, 0, `seed ${seed}: a spent refresh token was presented again (the provider revoked that grant)`);
  assert.equal(op.counters.errors['invalid_grant'] ?? 0, 0, `seed ${seed}: invalid_grant answered`);
  assert.ok(op.issuedRefreshTokens.length > rotationsAtEnd, 'the accounts still rotate after the last restart');
  const list = JSON.parse((await tokentray(daemon.env, ['list', '--json'])).stdout) as { accounts: Array<{ id: string; status: string }> };
  for (const account of list.accounts) assert.ok(['valid', 'refreshing'].includes(account.status), `${account.id}: ${account.status}`);
  for (const id of ids) {
    const record = await storedRecord(service, id); // parses and checks the SHA-256
    assert.ok(record?.refreshToken, `${id}: a record with a refresh token`);
    const token = await tokentray(daemon.env, ['token', id]);
    assert.equal(token.code, 0, `${id}: ${token.stderr}`);
  }
});

test('the window between "the provider issued a rotated refresh token" and "the keychain holds it", measured', async () => {
  const op = await TestProvider.start({ accessTokenTtl: 3600, rotateRefreshTokens: true, reuseGraceMs: 0 });
  cleanup.push(() => op.close());
  const landedAt = new Map<string, number>();
  // The real keychain, watched: when a write that holds a newly issued refresh token resolves.
  const watched = (real: SecretStore): SecretStore => ({
    label: real.label,
    persistent: real.persistent,
    maxSecretBytes: real.maxSecretBytes,
    get: (name) => real.get(name),
    delete: (name) => real.delete(name),
    fetchFor: real.fetchFor?.bind(real),
    set: async (name, value) => {
      await real.set(name, value);
      const now = performance.now();
      for (const token of op.refreshTokenIssuedAt.keys()) if (!landedAt.has(token) && value.includes(token)) landedAt.set(token, now);
    },
  });
  const h = await brokerHarness(op, { store: watched });
  cleanup.push(() => h.close());
  for (const id of ['a', 'b']) {
    await h.broker.addAccount({ id, name: id, flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await h.broker.signIn(id);
  }
  const from = op.issuedRefreshTokens.length;
  for (let i = 0; i < 30; i++) await Promise.all(['a', 'b'].map((id) => h.broker.refresh(id)));
  const windows = op.issuedRefreshTokens.slice(from).map((token) => landedAt.get(token)! - op.refreshTokenIssuedAt.get(token)!).sort((x, y) => x - y);
  assert.equal(windows.length, 60);
  assert.ok(windows.every((ms) => Number.isFinite(ms)), 'every rotated refresh token reached the keychain');
  const at = (q: number) => windows[Math.min(windows.length - 1, Math.floor(q * windows.length))]!;
  console.log(`# rotated refresh token issued → in the keychain: median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (${windows.length} rotations, 2 at a time)`);
  assert.ok(at(0.9) < 250, `p90 ${at(0.9).toFixed(1)} ms`);
});
