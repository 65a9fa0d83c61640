// The keychain over a long life: however many writes, accounts, refreshes or tool connections,
// the broker's descriptors and its D-Bus connections stay bounded, and every write lands.
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { Vault } from '../../main/core/vault/vault.ts';
import { brokerHarness, eventually, sleep } from '../fixtures/broker-harness.ts';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { FaultyStore, LimitedStore, privateService, realKeychain, recordOfSize, secretToolAccounts, storedRecord } from '../fixtures/keychain.ts';
import { capturingLogger } from '../fixtures/logs.ts';
import { PrivateKeyring } from '../fixtures/private-keyring.ts';
import { busConnections, descriptorCount, keychainWorkerPids } from '../fixtures/process-resources.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

// This load makes gnome-keyring abort now and then: on a keyring of this file's own (every
// keychain process, secret-tool and daemon started here inherits this environment), restarted
// when it dies, a crash cannot fail the keychain tests that run beside it on the suite's.
const keyring = await PrivateKeyring.start();
Object.assign(process.env, keyring.env);
keyring.watch();
cleanup.push(() => keyring.close());

interface Sample { fds: number; bus: number }

/** Descriptors of these processes together, and their connections on the session bus. */
async function sample(pids: number[]): Promise<Sample> {
  return { fds: pids.reduce((sum, pid) => sum + descriptorCount(pid), 0), bus: await busConnections(pids) };
}

function worst(samples: Sample[]): Sample {
  return { fds: Math.max(...samples.map((s) => s.fds)), bus: Math.max(...samples.map((s) => s.bus)) };
}

describe('keychain connections stay bounded', () => {
  test('2,000 keychain writes through the vault (100 B inline, 16 KB in 2,560-byte chunks): descriptors and bus connections grow by a small constant', async () => {
    const service = privateService('fds');
    const real = realKeychain(service);
    const counted = new FaultyStore(real); // injects nothing here: it counts the item writes
    const log = capturingLogger();
    const small = new Vault({ store: counted, logger: log.logger, redactor: log.redactor });
    const chunked = new Vault({ store: new LimitedStore(counted, 2560), logger: log.logger, redactor: log.redactor });
    cleanup.push(async () => { for (const name of await secretToolAccounts(service)) await real.delete(name); });

    await small.write('warm-up', recordOfSize(100));
    const worker = real.workerPid;
    assert.ok(worker, 'the keychain runs in its own process');
    const pids = [process.pid, worker];
    const before = await sample(pids);
    const samples: Sample[] = [];
    const last = new Map<string, string>();
    let round = 0;
    while (counted.sets < 2_000) {
      // 10 accounts written at once, as refreshes that fall due together would.
      await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const large = round % 2 === 1;
        const id = `${large ? 'large' : 'small'}-${i}`;
        const record = { ...recordOfSize(large ? 16_384 : 100), refreshToken: `rt-${id}-${round}` };
        const vault = large ? chunked : small;
        let persisted = (await vault.write(id, record)).persisted;
        // gnome-keyring itself aborts now and then under this load (this file's watcher
        // restarts it); a write it dropped must then land by the vault's own retry.
        for (let wait = 0; !persisted && wait < 50; wait++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          await vault.retryPending().catch(() => undefined);
          persisted = vault.isPersisted(id);
        }
        assert.equal(persisted, true, `write ${round} of ${id} landed`);
        last.set(id, record.refreshToken);
      }));
      round++;
      if (round % 10 === 0) samples.push(await sample(pids));
    }
    const peak = worst(samples);
    // Every write rotated a token: the log redactor keeps two generations per account, not 2,000.
    assert.ok(log.redactor.size <= 21 * 2 * 4, `the redactor holds ${log.redactor.size} secrets`); // 21 accounts (with the warm-up), 2 generations, up to 4 secrets each
    console.log(`# ${counted.sets} keychain writes in ${round} rounds: descriptors ${before.fds} -> peak ${peak.fds}, bus connections ${before.bus} -> peak ${peak.bus}`);
    // The keychain process may hold up to 24 connections (8 recent, 4 running, 12 awaiting collection),
    // whatever the number of writes: the growth is that constant, and the second half adds nothing.
    assert.ok(peak.fds - before.fds <= 26, `descriptors grew from ${before.fds} to ${peak.fds}`);
    const half = Math.floor(samples.length / 2);
    const firstHalf = worst(samples.slice(0, half));
    const secondHalf = worst(samples.slice(half));
    assert.ok(secondHalf.fds <= firstHalf.fds + 4, `descriptors kept growing: peak ${firstHalf.fds} in the first half, ${secondHalf.fds} in the second`);
    assert.ok(peak.bus <= 25, `the keychain held up to ${peak.bus} bus connections (bound: 8 recent, 4 running, 8 + 4 awaiting collection, + 1)`);
    assert.equal(real.workerPid, worker, 'one keychain process did all of it');

    for (const [id, refreshToken] of last) {
      const stored = await storedRecord(service, id);
      assert.equal(stored?.refreshToken, refreshToken, `the keychain holds the newest record of ${id}`);
    }
  });

  // 2 s tokens, 30 accounts (the issue asks for 1 s and 20): the provider stamps expiry in whole
  // seconds, so a "1 s" token lives anywhere from 0 to 1 s and cannot be checked active reliably.
  test('30 accounts with 2 s access tokens for 90 s: ≥ 1,500 refreshes, descriptors flat, every token served active, every record intact after a restart', async () => {
    const op = await TestProvider.start({ clientCredentialsTtl: 2 });
    const h = await brokerHarness(op);
    cleanup.push(() => op.close(), () => h.close());
    const ids = Array.from({ length: 30 }, (_, i) => `machine-${i}`);
    for (const id of ids) {
      await h.broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await h.broker.signIn(id);
    }
    assert.equal(h.vault.status().keychain, 'Secret Service');
    await sleep(5_000); // let the refresh rhythm and the provider's connection pool settle
    const worker = keychainWorkerPids(process.pid)[0];
    assert.ok(worker, 'the keychain process runs');
    const pids = [process.pid, worker];
    const before = await sample(pids);
    const refreshesBefore = op.requests('client_credentials');
    const samples: Sample[] = [];
    const inactive: string[] = [];
    const notPersisted = new Set<string>();
    let served = 0;
    const keyringRestarts = keyring.restarts;
    const deadline = Date.now() + 90_000;
    let next = 0;
    while (Date.now() < deadline) {
      const id = ids[next++ % ids.length]!;
      const token = await h.broker.getToken(id);
      served++;
      if (!(await op.introspect(token.accessToken)).active) inactive.push(`${id} at ${new Date().toISOString()} (expires_in ${token.expiresIn})`);
      for (const view of h.broker.list()) if (!view.persisted) notPersisted.add(view.id);
      if (next % 20 === 0) samples.push(await sample(pids));
      await sleep(100);
    }
    const refreshes = op.requests('client_credentials') - refreshesBefore;
    const peak = worst(samples);
    console.log(`# 30 accounts, 2 s tokens, 90 s: ${refreshes} refreshes, ${served} tokens served, descriptors ${before.fds} -> peak ${peak.fds}, bus connections ${before.bus} -> peak ${peak.bus}`);
    assert.ok(refreshes >= 1_500, `only ${refreshes} refreshes`);
    assert.deepEqual(inactive, [], 'every token served was active at the provider');
    if (keyring.restarts === keyringRestarts) {
      assert.deepEqual([...notPersisted], [], 'every account stayed persisted');
    } else {
      // gnome-keyring aborted under this load and the watcher restarted it: then the accounts it
      // left unwritten must be persisted again by themselves (REQUIREMENTS 20), as in production.
      console.log(`# gnome-keyring aborted ${keyring.restarts - keyringRestarts} time(s) during the run: ${notPersisted.size} account(s) were not persisted for a while`);
      await eventually('every account persisted again after the keyring came back', () => h.broker.list().every((view) => view.persisted), 15_000);
    }
    assert.ok(peak.fds - before.fds <= 26, `descriptors grew from ${before.fds} to ${peak.fds}`);
    assert.ok(peak.bus <= 25, `up to ${peak.bus} bus connections`);

    h.broker.stop();
    await h.broker.settle();
    await h.vault.settle();
    const inMemory = new Map<string, string | null | undefined>();
    for (const id of ids) inMemory.set(id, (await h.vault.read(id))?.accessToken);
    for (const id of ids) {
      const stored = await storedRecord(h.service, id);
      assert.ok(stored, `${id} has a record that passes its checksum`);
      assert.equal(stored.accessToken, inMemory.get(id), `the keychain holds ${id}'s newest tokens`);
    }
    // A restart reads every record back (and renews the tokens that expired meanwhile).
    const restarted = await h.restart();
    cleanup.push(() => restarted.close());
    for (const id of ids) {
      const token = await restarted.broker.getToken(id);
      assert.equal((await op.introspect(token.accessToken)).active, true, `${id} serves an active token after the restart`);
      assert.equal(restarted.broker.view(id).persisted, true);
    }
  });

  test('1,100 idle tool connections held open to the endpoint: refreshes still land in the keychain and the endpoint keeps answering', async () => {
    const op = await TestProvider.start({ clientCredentialsTtl: 2 });
    const daemon: Daemon = await startDaemon();
    cleanup.push(() => op.close(), () => daemon.cleanup());
    const ids = ['held-a', 'held-b', 'held-c'];
    for (const id of ids) {
      const added = await tokentray(daemon.env, ['add', id, '--issuer', op.issuer, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--json'], op.confidentialClient.client_secret);
      assert.equal(added.code, 0, added.stdout + added.stderr);
    }
    const sockets: Socket[] = [];
    cleanup.push(async () => { for (const socket of sockets) socket.destroy(); });
    await Promise.all(Array.from({ length: 1_100 }, () => new Promise<void>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: daemon.port }, () => resolve());
      socket.on('error', reject);
      sockets.push(socket);
    })));
    await eventually('the broker holds every connection', () => descriptorCount(daemon.pid) > 1_100, 5_000);
    const generations = new Map<string, number>();
    for (const id of ids) generations.set(id, (await storedRecord(daemon.service, id))!.generation);
    const started = Date.now();
    // Past descriptor 1,024 the keyring's select() used to spin; now the keychain has its own process.
    await eventually('every account refreshed into the keychain twice more', async () => {
      for (const id of ids) if ((await storedRecord(daemon.service, id))!.generation < generations.get(id)! + 2) return false;
      return true;
    }, 8_000, 250);
    const health = await curl(['--max-time', '2', `${daemon.url}/v1/health`]);
    assert.equal(health.status, 200);
    const token = await curl(['--max-time', '2', '-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/held-a/token`]);
    assert.equal(token.status, 200, token.body);
    const view = await curl(['--max-time', '2', '-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/held-b`]);
    assert.equal((view.json as { persisted: boolean }).persisted, true);
    console.log(`# ${descriptorCount(daemon.pid)} descriptors in the broker; refreshes landed within ${Date.now() - started} ms`);
    assert.equal(await daemon.stop(), 0, 'SIGTERM still ends the broker cleanly');
  });

  test('a frozen keychain process (SIGSTOP): health and in-memory tokens still answer at once, the account says persisted: false, then recovers by itself; SIGTERM still works', async () => {
    // 10 s tokens: the background refresh starts 5 s before expiry, so its write meets the
    // frozen keychain while the current token is still good to serve.
    const op = await TestProvider.start({ clientCredentialsTtl: 10 });
    const daemon = await startDaemon();
    cleanup.push(() => op.close(), () => daemon.cleanup());
    const added = await tokentray(daemon.env, ['add', 'frozen', '--issuer', op.issuer, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--json'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const worker = keychainWorkerPids(daemon.pid)[0];
    assert.ok(worker, 'the broker runs its keychain process');
    const auth = ['-H', `Authorization: Bearer ${daemon.key}`];
    const view = async () => (await curl(['--max-time', '3', ...auth, `${daemon.url}/v1/accounts/frozen`])).json as { persisted: boolean; status: string };
    process.kill(worker, 'SIGSTOP');
    try {
      const slowest = { health: 0, token: 0 };
      let sawNotPersisted = false;
      const frozenAt = Date.now();
      while (Date.now() - frozenAt < 6_000 || (!sawNotPersisted && Date.now() - frozenAt < 20_000)) {
        let started = performance.now();
        assert.equal((await curl(['--max-time', '3', `${daemon.url}/v1/health`])).status, 200);
        slowest.health = Math.max(slowest.health, performance.now() - started);
        started = performance.now();
        const token = await curl(['--max-time', '5', ...auth, `${daemon.url}/v1/accounts/frozen/token?min_ttl=0`]);
        assert.equal(token.status, 200, token.body);
        slowest.token = Math.max(slowest.token, performance.now() - started);
        if (!(await view()).persisted) sawNotPersisted = true;
        await sleep(200);
      }
      console.log(`# keychain frozen for ${((Date.now() - frozenAt) / 1000).toFixed(0)} s: slowest health ${slowest.health.toFixed(0)} ms, slowest token ${slowest.token.toFixed(0)} ms`);
      assert.ok(slowest.health < 500, `health took ${slowest.health} ms`);
      assert.ok(slowest.token < 250, `a token held in memory took ${slowest.token} ms`);
      assert.ok(sawNotPersisted, 'the account reported persisted: false while its refreshed tokens could not be written');
      // No SIGCONT: a keychain process that stays stuck is replaced, and the pending write lands.
      await eventually('persisted again with a new keychain process', async () => (await view()).persisted, 45_000, 500);
      assert.notEqual(keychainWorkerPids(daemon.pid)[0], worker, 'the stuck process was replaced');
    } finally {
      try { process.kill(worker, 'SIGCONT'); } catch { /* already replaced and gone */ }
    }
    const stopped = performance.now();
    assert.equal(await daemon.stop(), 0);
    assert.ok(performance.now() - stopped < 5_000, 'SIGTERM ended the broker within 5 s');
  });
});
