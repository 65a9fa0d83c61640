import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { chunkName } from '../../main/core/vault/record-store.ts';
import { Vault } from '../../main/core/vault/vault.ts';
import { JOURNAL_ITEM } from '../../main/core/vault/keychain-protocol.ts';
import type { Journal } from '../../main/core/vault/refresh-journal.ts';
import { applyJournalEntry } from '../../main/core/broker/journal-recovery.ts';
import { TokentrayError } from '../../shared/errors.ts';
import type { SecretStore } from '../../main/core/vault/secret-store.ts';
import { canary } from '../fixtures/canary.ts';
import { FaultyStore, LimitedStore, privateService, realKeychain, recordOfSize, secretToolAccounts } from '../fixtures/keychain.ts';
import { capturingLogger } from '../fixtures/logs.ts';
import { PrivateKeyring } from '../fixtures/private-keyring.ts';

// A keyring of this file's own: these tests call the vault directly, with no broker to retry,
// so a restart of the suite's shared keyring (gnome-keyring aborts now and then when another
// file's client leaves mid-request) failed 5 of them in the second it took (CI at e6d2347 and
// at f40a6a4). Every keychain process and secret-tool started here uses this one.
const keyring = await PrivateKeyring.start();
Object.assign(process.env, keyring.env);

const WINDOWS_LIMIT = 2560;
const services: string[] = [];

function vaultOn(store: SecretStore) {
  const log = capturingLogger();
  return { vault: new Vault({ store, logger: log.logger, redactor: log.redactor }), log };
}

function newService(label: string): string {
  const service = privateService(label);
  services.push(service);
  return service;
}

after(async () => {
  // Leave the test keyring as we found it, even when an assertion failed half-way.
  for (const service of services) {
    for (const name of await secretToolAccounts(service).catch(() => [])) {
      await realKeychain(service).delete(name).catch(() => undefined);
    }
  }
  await keyring.close();
});

describe('vault on the real keychain', () => {
  for (const size of [100, 4 * 1024, 16 * 1024, 100 * 1024]) {
    for (const limited of [false, true]) {
      test(`a ${size}-byte record round-trips${limited ? ' in 2,560-byte chunks' : ''}`, async () => {
        const service = newService(`rt${size}`);
        const keychain = realKeychain(service);
        const store = limited ? new LimitedStore(keychain, WINDOWS_LIMIT) : keychain;
        const input = recordOfSize(size);
        const { vault } = vaultOn(store);
        const { record, persisted } = await vault.write('acct', input);
        assert.equal(persisted, true);
        // A fresh vault reads from the keychain itself, not from memory.
        const reread = await vaultOn(store).vault.read('acct');
        assert.deepEqual(reread, record);
        assert.equal(reread?.refreshToken, input.refreshToken);
        assert.deepEqual(reread?.scopes, ['openid', 'offline_access', 'é-scope']);
        const items = await secretToolAccounts(service);
        if (limited) {
          assert.ok((store as LimitedStore).largestWrite <= WINDOWS_LIMIT);
          const expectChunks = size > WINDOWS_LIMIT;
          assert.equal(items.some((n) => n.startsWith('acct#')), expectChunks, `items: ${items.join(', ')}`);
        } else {
          assert.deepEqual(items, ['acct']);
        }
        await vaultOn(store).vault.delete('acct');
        assert.deepEqual(await secretToolAccounts(service), []);
      });
    }
  }

  test('a write that fails after k of n chunks leaves the previous record intact, and the next write cleans up', async () => {
    const service = newService('faults');
    const faulty = new FaultyStore(realKeychain(service));
    const store = new LimitedStore(faulty, WINDOWS_LIMIT);
    const first = vaultOn(store).vault;
    const original = await first.write('acct', recordOfSize(6 * 1024)); // 3 chunks
    const bigger = recordOfSize(12 * 1024);
    // Measure n: a successful write of the same size makes n chunk writes and one header write.
    faulty.sets = 0;
    await vaultOn(store).vault.write('measure', { ...bigger, refreshToken: canary('m', 4000) });
    const n = faulty.sets - 1;
    assert.ok(n >= 4, `expected several chunks, got ${n}`);
    await vaultOn(store).vault.delete('measure');
    let previous = original.record;
    for (let k = 0; k <= n; k++) { // k chunks written, then a failure; k = n fails the header flip
      const { vault, log } = vaultOn(store);
      faulty.sets = 0;
      faulty.failAt = k;
      const failed = await vault.write('acct', { ...bigger, refreshToken: canary(`rt${k}`, 4000) });
      assert.equal(failed.persisted, false, `k=${k}: the write should have failed`);
      assert.equal(vault.status().persisted, false);
      assert.doesNotMatch(log.lines(), /CANARY_/, 'no token reaches the log of a failed write');
      // The keychain still holds the previous record, whole.
      const onDisk = await vaultOn(store).vault.read('acct');
      assert.deepEqual(onDisk, previous, `k=${k}: previous record must survive`);
      // The retry writes the new record and removes every orphan.
      assert.equal(await vault.retryPending(), 0);
      const now = await vaultOn(store).vault.read('acct');
      assert.equal(now?.refreshToken, failed.record.refreshToken);
      previous = now!;
      const items = await secretToolAccounts(service);
      const gen = now!.generation;
      const expected = ['acct', ...Array.from({ length: items.length - 1 }, (_, i) => chunkName('acct', gen, i))].sort();
      assert.deepEqual(items, expected, `k=${k}: only the header and generation ${gen}'s chunks remain`);
    }
    // Shrinking back to an inline-sized record removes every chunk.
    await vaultOn(store).vault.write('acct', recordOfSize(100));
    assert.deepEqual(await secretToolAccounts(service), ['acct']);
  });

  test('deleting an account leaves no item behind, even after a failed chunked write', async () => {
    const service = newService('delete');
    const faulty = new FaultyStore(realKeychain(service));
    const store = new LimitedStore(faulty, WINDOWS_LIMIT);
    const { vault } = vaultOn(store);
    await vault.write('acct', recordOfSize(16 * 1024));
    await vault.write('other', recordOfSize(100));
    faulty.sets = 0;
    faulty.failAt = 3; // orphans of the next generation
    await vault.write('acct', recordOfSize(20 * 1024));
    assert.ok((await secretToolAccounts(service)).length > 3);
    await vault.delete('acct');
    assert.deepEqual(await secretToolAccounts(service), ['other']);
    assert.equal(await vaultOn(store).vault.read('acct'), null);
    await vault.delete('other');
    assert.deepEqual(await secretToolAccounts(service), []);
  });

  test('a damaged header hides no chunks: the next write and a removal leave none behind', async () => {
    const service = newService('header');
    const keychain = realKeychain(service);
    const store = new LimitedStore(keychain, WINDOWS_LIMIT);
    for (const then of ['write', 'remove'] as const) {
      const { vault } = vaultOn(store);
      await vault.write('acct', recordOfSize(8 * 1024));
      await vault.write('acct', recordOfSize(9 * 1024)); // both slots have been used
      assert.ok((await secretToolAccounts(service)).length >= 4, 'a header and its chunks');
      await keychain.set('acct', '{"tt":1,"gen":'); // the header is damaged: it no longer says where its chunks are
      await assert.rejects(vaultOn(store).vault.read('acct'), { code: 'record_corrupt' });
      if (then === 'write') {
        const { record } = await vaultOn(store).vault.write('acct', recordOfSize(100));
        assert.deepEqual(await secretToolAccounts(service), ['acct'], 'an inline record over a damaged header: no chunk left');
        assert.equal((await vaultOn(store).vault.read('acct'))?.refreshToken, record.refreshToken);
      } else {
        await vaultOn(store).vault.delete('acct');
        assert.deepEqual(await secretToolAccounts(service), [], 'removed: no chunk outlives the account');
      }
    }
  });

  test('a tampered chunk is detected by the checksum', async () => {
    const service = newService('tamper');
    const keychain = realKeychain(service);
    const store = new LimitedStore(keychain, WINDOWS_LIMIT);
    const { record } = await vaultOn(store).vault.write('acct', recordOfSize(8 * 1024));
    const name = chunkName('acct', record.generation, 1);
    const chunk = (await keychain.get(name))!;
    await keychain.set(name, chunk.replace(/[A-Za-z]/, (c) => (c === 'A' ? 'B' : 'A')));
    await assert.rejects(vaultOn(store).vault.read('acct'), { code: 'record_corrupt' });
  });

  test('settle() returns only once no keychain call is open, so a process can exit without leaving one behind', async () => {
    const keychain = realKeychain(newService('settle'));
    const done: string[] = [];
    const writes = Array.from({ length: 5 }, (_, i) => keychain.set(`item-${i}`, canary('settle', 64 * 1024)).then(() => done.push(`item-${i}`)));
    await keychain.settle(10_000);
    await new Promise(setImmediate); // the callers' own continuations run, but no more I/O is awaited
    assert.equal(done.length, 5, 'every write was answered before settle() resolved');
    await Promise.all(writes);
    const started = performance.now();
    await keychain.settle(10_000);
    assert.ok(performance.now() - started < 50, 'with nothing open, settle() returns at once');
  });
});

describe('vault without a keychain', () => {
  test('no Secret Service on the bus: keychain_unavailable in under 2 s, then memory-only with persisted: false', async () => {
    const script = `
      import { KeychainStore } from './main/core/vault/keychain-store.ts';
      const store = new KeychainStore({ service: 'tokentray-nobus' });
      const started = Date.now();
      try { await store.set('acct', 'x'); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, ms: Date.now() - started, message: e.message })); }`;
    for (const bus of ['unix:path=/nonexistent/tokentray-bus', 'unix:abstract=tokentray-no-such-bus']) {
      const started = Date.now();
      const out = await runNode(script, { DBUS_SESSION_BUS_ADDRESS: bus });
      const elapsed = Date.now() - started;
      const result = JSON.parse(out) as { code: string; ms: number; message: string };
      assert.equal(result.code, 'keychain_unavailable', result.message);
      assert.ok(result.ms < 2000, `took ${result.ms} ms`);
      assert.ok(elapsed < 5000, `process took ${elapsed} ms`);
    }
  });

  test('no Secret Service: 1,000 calls start no process; 500 at once ask the bus once, and a second later once more', async () => {
    const { mkdtemp, readFile, writeFile, chmod } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/tt-dbus-shim-`);
    // dbus-send behind a shim that counts its starts: a process per call (or per second) was
    // most of an idle memory-only broker's CPU.
    await writeFile(`${dir}/dbus-send`, `#!/bin/sh\necho >> "${dir}/count"\nexec /usr/bin/dbus-send "$@"\n`);
    await chmod(`${dir}/dbus-send`, 0o755);
    const out = await runNode(`
      import net from 'node:net';
      let connects = 0;
      const connect = net.Socket.prototype.connect;
      net.Socket.prototype.connect = function (...args) { connects++; return connect.apply(this, args); };
      const { KeychainStore } = await import('./main/core/vault/keychain-store.ts');
      const store = new KeychainStore({ service: 'tokentray-nobus-many' });
      const calls = () => Promise.all(Array.from({ length: 500 }, (_, i) => store.set('acct-' + i, 'x').then(() => 'ok', (e) => e.code)));
      const first = await calls();
      const afterFirst = connects;
      await new Promise((r) => setTimeout(r, 1200));
      const later = await calls();
      console.log(JSON.stringify({ codes: [...new Set([...first, ...later])], afterFirst, connects }));`,
      { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/tokentray-bus', PATH: `${dir}:${process.env['PATH'] ?? ''}` });
    const result = JSON.parse(out) as { codes: string[]; afterFirst: number; connects: number };
    assert.deepEqual(result.codes, ['keychain_unavailable']);
    assert.equal(result.afterFirst, 1, `${result.afterFirst} connection attempts for 500 calls`);
    assert.equal(result.connects, 2, `${result.connects} connection attempts for 1,000 calls a second apart`);
    const started = await readFile(`${dir}/count`, 'utf8').catch(() => '');
    assert.equal(started, '', 'no dbus-send process was started');
  });

  test('a live bus with no Secret Service: calls fail at once and ask the bus nothing more until it announces the keyring; then they work', async () => {
    const keyring = await PrivateKeyring.start({ keyring: false });
    try {
      const out = await runNode(`
        const { KeychainStore } = await import('./main/core/vault/keychain-store.ts');
        const { SessionBus } = await import('./main/core/vault/session-bus.ts');
        let calls = 0;
        const call = SessionBus.prototype.call;
        SessionBus.prototype.call = function (...args) { calls++; return call.apply(this, args); };
        const store = new KeychainStore({ service: 'tokentray-late-keyring' });
        let returned = null;
        store.onReturn(() => { returned ??= Date.now(); });
        const codes = new Set();
        const t0 = Date.now();
        for (let round = 0; round < 5; round++) {
          await Promise.all(Array.from({ length: 200 }, () => store.get('acct').then(() => 'ok', (e) => codes.add(e.code))));
          await new Promise((r) => setTimeout(r, 300));
        }
        const busCalls = calls;
        const watching = store.watchingForReturn;
        const failedFor = Date.now() - t0;
        process.stdout.write(JSON.stringify({ phase: 'away', codes: [...codes], busCalls, watching, failedFor }) + '\\n');
        await new Promise((resolve) => process.stdin.once('data', resolve)); // the test starts the keyring
        const startedAt = Date.now();
        while (returned === null && Date.now() - startedAt < 10_000) await new Promise((r) => setTimeout(r, 20));
        await store.set('acct', 'back');
        console.log(JSON.stringify({ phase: 'back', announced: returned !== null, value: await store.get('acct'), watching: store.watchingForReturn }));
        await store.delete('acct');
        process.exit(0);`,
        keyring.env, async (line, child) => {
          if (JSON.parse(line).phase === 'away') {
            await keyring.startKeyring();
            child.stdin!.write('go\n');
          }
        });
      const [away, back] = out.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(away!['codes'], ['keychain_unavailable']);
      assert.equal(away!['watching'], true, 'the store knows the bus will announce the Secret Service');
      // Hello, AddMatch and one Ping: 1,000 calls over 1.5 s asked the bus nothing more.
      assert.equal(away!['busCalls'], 3, `${String(away!['busCalls'])} bus calls`);
      assert.deepEqual(back, { phase: 'back', announced: true, value: 'back', watching: false });
    } finally {
      await keyring.close();
    }
  });

  test('a bus that accepts connections and never answers: keychain_unavailable in under 2 s, no hang', async () => {
    const net = await import('node:net');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/tt-blackhole-`);
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((socket) => { sockets.push(socket); }).listen(`${dir}/bus`);
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const out = await runNode(`
        import { KeychainStore } from './main/core/vault/keychain-store.ts';
        const started = Date.now();
        try { await new KeychainStore({ service: 'tokentray-blackhole' }).get('acct'); console.log(JSON.stringify({ ok: true })); }
        catch (e) { console.log(JSON.stringify({ code: e.code, ms: Date.now() - started })); process.exit(0); }`,
        { DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/bus` });
      const result = JSON.parse(out) as { code: string; ms: number };
      assert.equal(result.code, 'keychain_unavailable');
      assert.ok(result.ms < 2000, `took ${result.ms} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test('memory-only vault keeps serving the newest record and persists it once the keychain is back', async () => {
    const service = newService('memory');
    const real = realKeychain(service);
    let down = true;
    const flaky: SecretStore = {
      label: 'flaky', persistent: true, maxSecretBytes: null,
      get: (n) => (down ? Promise.reject(unavailable()) : real.get(n)),
      set: (n, v) => (down ? Promise.reject(unavailable()) : real.set(n, v)),
      delete: (n) => (down ? Promise.reject(unavailable()) : real.delete(n)),
    };
    const { vault, log } = vaultOn(flaky);
    await assert.rejects(vault.read('acct'), { code: 'keychain_unavailable' });
    const input = recordOfSize(3000);
    const written = await vault.write('acct', input);
    assert.equal(written.persisted, false);
    assert.equal(vault.isPersisted('acct'), false);
    assert.equal(vault.status().persisted, false);
    assert.equal((await vault.read('acct'))?.refreshToken, input.refreshToken, 'served from memory');
    assert.equal(await vault.retryPending(), 1);
    assert.deepEqual(vault.status().pending, ['acct']);
    down = false;
    const persistedAgain: string[] = [];
    assert.equal(await vault.retryPending((id) => persistedAgain.push(id)), 0);
    assert.deepEqual(persistedAgain, ['acct'], 'the caller hears which account is persisted again');
    assert.equal(vault.status().persisted, true);
    assert.equal((await vaultOn(real).vault.read('acct'))?.refreshToken, input.refreshToken);
    assert.doesNotMatch(log.lines(), /CANARY_/);
    assert.match(log.lines(), /kept in memory only/);
  });

  test('a crash journal the keychain could not read at start is never taken for "none": stored records wait for it, then it is applied', async () => {
    const service = newService('journal-gate');
    const real = realKeychain(service);
    const old = recordOfSize(200);
    await vaultOn(real).vault.write('acct', old);
    const rotated = canary('refresh', 40);
    const journal: Journal = { v: 1, pid: process.pid, done: true, entries: { acct: { presented: old.refreshToken!, body: JSON.stringify({ access_token: canary('access', 40), token_type: 'Bearer', expires_in: 3600, refresh_token: rotated }), at: Date.now() } } };
    await real.set(JOURNAL_ITEM, JSON.stringify(journal));

    const faulty = new FaultyStore(real);
    faulty.refusingReads = true; // a keychain too slow to answer the start's first questions
    const { vault } = vaultOn(faulty);
    assert.ok((await vault.probe()).lastError, 'the probe could not read the journal');
    await assert.rejects(vault.recover(applyJournalEntry), { code: 'keychain_unavailable' });
    assert.equal(vault.recovering, true);
    await assert.rejects(vault.read('acct'), { code: 'keychain_unavailable' }, 'no stored record is served before the journal is known');

    faulty.refusingReads = false;
    assert.equal((await vault.read('acct'))?.refreshToken, rotated, 'the journalled refresh token, never the spent one');
    assert.equal(vault.recovering, false);
    assert.equal(await real.get(JOURNAL_ITEM), null, 'the journal is removed once applied');
    assert.equal((await vaultOn(real).vault.read('acct'))?.refreshToken, rotated, 'and the keychain holds it');
  });
});

function unavailable() {
  return new TokentrayError('keychain_unavailable', 'no secret service', { retryable: true });
}

/** Runs `script` as an ES module in a Node of its own; `onLine` sees each line it prints (and may answer on its stdin). */
function runNode(script: string, env: Record<string, string | undefined>, onLine?: (line: string, child: ChildProcess) => Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let seen = 0;
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const lines = out.split('\n');
      for (; seen < lines.length - 1; seen++) void onLine?.(lines[seen]!, child).catch(reject);
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hung: ${out}`)); }, 20_000);
    child.on('close', () => { clearTimeout(timer); resolve(out.trim()); });
  });
}
