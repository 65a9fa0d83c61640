import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initialState, type AccountDefinitionInput } from '../../shared/account.ts';
import { AccountStore, accountsFileText } from '../../main/core/accounts/account-store.ts';
import { Vault } from '../../main/core/vault/vault.ts';
import { canary } from '../fixtures/canary.ts';
import { privateService, realKeychain, secretToolAccounts } from '../fixtures/keychain.ts';
import { capturingLogger } from '../fixtures/logs.ts';

async function freshHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tt-home-'));
}

function definition(id: string, extra: Partial<AccountDefinitionInput> = {}): AccountDefinitionInput {
  return {
    id,
    name: `Account ${id} — “quoted” 名前`,
    flow: 'browser',
    provider: { issuer: 'https://login.example.com', preset: 'generic-oidc' },
    clientId: 'tokentray-desktop',
    scopes: ['openid', 'offline_access'],
    hosts: ['git.example.com'],
    createdAt: new Date().toISOString(),
    state: initialState(),
    ...extra,
  };
}

async function openStore(home: string, stateWriteDelayMs?: number) {
  const log = capturingLogger();
  const store = new AccountStore({ home, logger: log.logger, ...(stateWriteDelayMs === undefined ? {} : { stateWriteDelayMs }) });
  const loaded = await store.load();
  return { store, loaded, log };
}

describe('account store', () => {
  test('accounts round-trip; the file is 0600, pretty JSON, and written atomically', async () => {
    const home = await freshHome();
    const { store } = await openStore(home);
    await store.add(definition('github'));
    await store.add(definition('okta.work', { flow: 'device' }));
    await store.setState('github', { status: 'valid', accessTokenExpiresAt: '2030-01-01T00:00:00.000Z' });
    const again = await openStore(home);
    assert.equal(again.loaded.recovered, null);
    assert.deepEqual(again.store.list().map((a) => a.id), ['github', 'okta.work']);
    assert.equal(again.store.require('github').state.status, 'valid');
    assert.equal(again.store.require('github').name, 'Account github — “quoted” 名前');
    assert.equal((await stat(join(home, 'accounts.json'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(home)).sort(), ['accounts.json'], 'no temp file is left behind');
  });

  test('ids are slugs; an existing id is refused with account_exists', async () => {
    const { store } = await openStore(await freshHome());
    for (const bad of ['', 'Upper', '-lead', 'has space', 'a/b', '../x', 'x'.repeat(65), 'acct#1']) {
      await assert.rejects(store.add(definition(bad)), { code: 'invalid_account_id' }, bad);
    }
    await store.add(definition('a'.repeat(64)));
    await store.add(definition('dup'));
    await assert.rejects(store.add(definition('dup')), { code: 'account_exists' });
    await assert.rejects(store.update('nope', (a) => a), { code: 'account_not_found' });
  });

  test('accounts.json never holds a secret; the keychain does', async () => {
    const home = await freshHome();
    const service = privateService('store');
    const { store } = await openStore(home);
    const log = capturingLogger();
    const vault = new Vault({ store: realKeychain(service), logger: log.logger, redactor: log.redactor });
    const secret = canary('client_secret');
    const refresh = canary('refresh');
    await store.add(definition('acme', { hasClientSecret: true, params: { audience: 'api://acme' } }));
    await vault.write('acme', { clientSecret: secret, refreshToken: refresh, accessToken: canary('access') });
    await store.setState('acme', { status: 'valid', lastRefreshAt: new Date().toISOString() });
    // A secret cannot be smuggled in through a field the schema does not know, or a parameter.
    await assert.rejects(store.update('acme', (a) => ({ ...a, refreshToken: refresh }) as never), { code: 'invalid_account' });
    await assert.rejects(store.update('acme', (a) => ({ ...a, params: { client_secret: secret } })), { code: 'invalid_account' });
    await assert.rejects(store.add(definition('jwt', { params: { assertion: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln' } })), { code: 'invalid_account' });
    const text = await readFile(join(home, 'accounts.json'), 'utf8');
    assert.ok(!text.includes(secret) && !text.includes(refresh) && !text.includes('CANARY_'));
    assert.match(text, /"hasClientSecret": true/);
    assert.equal((await vault.read('acme'))?.clientSecret, secret);
    await vault.delete('acme');
    assert.deepEqual(await secretToolAccounts(service), []);
  });

  for (const [label, content] of [
    ['empty', ''],
    ['truncated', '{"version":1,"accounts":[{"id":"github","na'],
    ['garbage', '\u0000\u0001binary\uFFFDgarbage'],
    ['wrong shape', '{"version":2,"accounts":"nope"}'],
  ] as const) {
    test(`an accounts.json that is ${label} is moved aside, reported, and not overwritten`, async () => {
      const home = await freshHome();
      const path = join(home, 'accounts.json');
      await writeFile(path, content);
      const { store, loaded, log } = await openStore(home);
      assert.ok(loaded.recovered, 'the corruption is reported');
      assert.equal(loaded.recovered.error.code, 'store_corrupt');
      assert.match(loaded.recovered.error.message, /moved to .*accounts\.json\.corrupt-/);
      assert.match(loaded.recovered.movedTo, /accounts\.json\.corrupt-\d{4}-\d\d-\d\dT/);
      assert.equal(await readFile(loaded.recovered.movedTo, 'utf8'), content, 'the bad file is kept byte for byte');
      assert.deepEqual(store.list(), []);
      assert.match(log.lines(), /corrupt/);
      // The next write starts a fresh file and leaves the corrupt copy alone.
      await store.add(definition('fresh'));
      assert.equal(await readFile(loaded.recovered.movedTo, 'utf8'), content);
      assert.deepEqual((await openStore(home)).store.list().map((a) => a.id), ['fresh']);
    });
  }

  test('concurrent updates are serialised: none is lost', async () => {
    const home = await freshHome();
    const { store } = await openStore(home);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.add(definition(`acct-${i}`))));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.setState(`acct-${i}`, { status: 'valid' })));
    const again = await openStore(home);
    assert.equal(again.store.list().length, 40);
    assert.ok(again.store.list().every((a) => a.state.status === 'valid'));
  });

  test('the file is exactly JSON.stringify of every definition, in id order, after adds, status changes and removals', async () => {
    const home = await freshHome();
    const { store } = await openStore(home);
    const expected = async () => `${JSON.stringify({ version: 1, accounts: store.list() }, null, 2)}\n`;
    assert.equal(accountsFileText([]), `${JSON.stringify({ version: 1, accounts: [] }, null, 2)}\n`);
    await Promise.all(['b', 'a', 'c'].map((id) => store.add(definition(id, { name: `line\nbreak "${id}" \\ 名前`, params: { audience: 'x\ny' } }))));
    assert.equal(await readFile(join(home, 'accounts.json'), 'utf8'), await expected());
    assert.deepEqual(store.list().map((a) => a.id), ['a', 'b', 'c']);
    await store.setState('b', { status: 'valid', lastError: { code: 'provider_unavailable', message: 'multi\nline', at: new Date().toISOString() } });
    assert.equal(await readFile(join(home, 'accounts.json'), 'utf8'), await expected());
    assert.equal(store.list()[1]!.state.status, 'valid', 'the listing shows the new definition, not a cached one');
    await Promise.all([store.remove('a'), store.add(definition('aa')), store.setState('c', { status: 'expired' })]);
    assert.deepEqual(store.list().map((a) => a.id), ['aa', 'b', 'c']);
    assert.equal(await readFile(join(home, 'accounts.json'), 'utf8'), await expected());
    assert.deepEqual((await openStore(home)).store.list(), store.list());
  });
  test('routine status changes are applied at once and written once for many: within the delay, with the next change written at once, or by flush', async () => {
    const home = await freshHome();
    const { store } = await openStore(home, 300);
    const ids = Array.from({ length: 200 }, (_, i) => `acct-${String(i).padStart(3, '0')}`);
    await Promise.all(ids.map((id) => store.add(definition(id))));
    const file = join(home, 'accounts.json');
    const onDisk = async () => JSON.parse(await readFile(file, 'utf8')) as { accounts: Array<{ id: string; state: { status: string; lastRefreshAt: string | null } }> };
    const writtenAt = (await stat(file)).mtimeMs;
    // 2,000 status changes (ten refreshes of each account): in memory at once, on disk later, in one write.
    for (let round = 0; round < 10; round++) for (const id of ids) store.noteState(id, { status: round % 2 ? 'refreshing' : 'valid', lastRefreshAt: new Date(round * 1000).toISOString() });
    assert.equal(store.require('acct-007').state.lastRefreshAt, new Date(9000).toISOString(), 'the listing shows it at once');
    assert.equal(store.stateWaiting, true);
    assert.equal((await stat(file)).mtimeMs, writtenAt, 'nothing written yet');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(store.stateWaiting, false);
    assert.ok((await onDisk()).accounts.every((a) => a.state.status === 'refreshing' && a.state.lastRefreshAt === new Date(9000).toISOString()), 'written within the delay');
    // With a change that is written at once: both are on disk when it resolves.
    store.noteState('acct-001', { status: 'expired' });
    await store.add(definition('zz-new'));
    assert.equal((await onDisk()).accounts.find((a) => a.id === 'acct-001')?.state.status, 'expired');
    assert.equal(store.stateWaiting, false);
    // By flush (a clean stop).
    store.noteState('acct-002', { status: 'retrying' });
    await store.flush();
    assert.equal((await onDisk()).accounts.find((a) => a.id === 'acct-002')?.state.status, 'retrying');
    assert.equal((await openStore(home)).store.require('acct-002').state.status, 'retrying');
  });

  test('a write that fails undoes its own change only: a routine status noted meanwhile for another account stays', async () => {
    const home = await freshHome();
    const { store } = await openStore(home, 60_000);
    await store.add(definition('a'));
    await store.add(definition('b'));
    // A directory where the file goes: the write's rename fails (for root too).
    const { mkdir, rename, rm } = await import('node:fs/promises');
    const file = join(home, 'accounts.json');
    await rename(file, `${file}.aside`);
    await mkdir(join(file, 'blocked'), { recursive: true });
    try {
      const failing = store.add(definition('c'));
      store.noteState('a', { status: 'valid' });
      await assert.rejects(failing, { code: 'store_io' });
      assert.equal(store.get('c'), undefined, 'the failed add is undone');
      assert.deepEqual(store.list().map((x) => x.id), ['a', 'b']);
      assert.equal(store.require('a').state.status, 'valid', 'the status noted for another account stays');
    } finally {
      await rm(file, { recursive: true });
      await rename(`${file}.aside`, file);
    }
    await store.flush();
    assert.equal((await openStore(home)).store.require('a').state.status, 'valid');
  });
});
