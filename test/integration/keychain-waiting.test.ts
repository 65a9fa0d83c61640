// Waiting for a keychain that is away costs nothing per account (REQUIREMENTS 20–21, issue 11):
// a broker restarted while the Secret Service is gone holds its accounts without a timer each
// and without asking the keychain again and again; the bus tells it when the keyring starts,
// and then every account is read back at once. On a bus and keyring of this file's own.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SecretStore } from '../../main/core/vault/secret-store.ts';
import type { Broker } from '../../main/core/broker/broker.ts';
import type { AccountView } from '../../shared/account-view.ts';
import { brokerHarness, eventually, sleep } from '../fixtures/broker-harness.ts';
import { FaultyStore } from '../fixtures/keychain.ts';
import { PrivateKeyring } from '../fixtures/private-keyring.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const keyring = await PrivateKeyring.start();
Object.assign(process.env, keyring.env); // every keychain process started here uses this keyring
const cleanup: Array<() => Promise<unknown>> = [() => keyring.close()];
after(async () => { for (const step of cleanup.reverse()) await step().catch(() => undefined); });

/** The real store, counting the calls that reach it. */
function counting(real: SecretStore): SecretStore & { calls: number } {
  return {
    calls: 0,
    label: real.label,
    persistent: real.persistent,
    maxSecretBytes: real.maxSecretBytes,
    get watchingForReturn() { return real.watchingForReturn; },
    onReturn: (listener) => real.onReturn!(listener),
    get(name) { this.calls++; return real.get(name); },
    set(name, value) { this.calls++; return real.set(name, value); },
    delete(name) { this.calls++; return real.delete(name); },
  };
}

/** Waits until every account's view passes `check`; a failure names what each account says. */
async function everyAccount(broker: Broker, what: string, check: (view: AccountView) => boolean, timeoutMs: number): Promise<void> {
  await eventually(what, () => broker.list().every(check), timeoutMs)
    .catch((error: unknown) => { throw new Error(`${(error as Error).message}: ${statuses(broker)}`); });
}

/** Waits until every account is valid with its record in the keychain (a slow write is retried). */
function everyPersisted(broker: Broker): Promise<void> {
  return everyAccount(broker, 'every account valid and persisted before the restart', (view) => view.status === 'valid' && view.persisted, 20_000);
}

/** "12× valid (persisted), 3× expired (keychain_unavailable)": what the accounts say, for a failure message. */
function statuses(broker: Broker): string {
  const counts = new Map<string, number>();
  for (const view of broker.list()) {
    const key = `${view.status} (${view.persisted ? 'persisted' : 'not persisted'}${view.lastError ? `, ${view.lastError.code}` : ''})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n}× ${key}`).join(', ');
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

test('restarted while the keyring is gone: 100 accounts wait with no timer each and no keychain call, and are all read back within 2 s of the keyring starting', { timeout: 120_000 }, async () => {
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  cleanup.push(() => op.close());
  const first = await brokerHarness(op);
  const ids = Array.from({ length: 100 }, (_, i) => `svc-${i}`);
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map(async (id) => {
      await first.broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await first.broker.signIn(id);
    }));
  }
  // A keychain write slowed past its deadline by a busy machine is retried (persisted: false until
  // it lands): the records under test are the ones on disk, so wait for every one of them.
  await everyPersisted(first.broker);
  first.broker.stop();
  await first.broker.settle();
  await first.vault.settle();
  const issued = op.requests('client_credentials');

  await keyring.killKeyring();
  let store: ReturnType<typeof counting> | null = null;
  const timersBefore = timers();
  const second = await brokerHarness(op, { home: first.home, service: first.service, store: (real) => (store = counting(real)) });
  cleanup.push(() => second.close());
  const views = second.broker.list();
  assert.ok(views.every((view) => view.status === 'expired' && view.lastError?.code === 'keychain_unavailable'), 'each account says the keychain is what it needs');
  assert.ok(timers() - timersBefore < 10, `${timers() - timersBefore} timers for 100 accounts waiting for the keychain`);
  const callsAtStart = store!.calls;
  await sleep(5_000);
  const whileAway = store!.calls - callsAtStart;
  assert.equal(whileAway, 0, 'no keychain call while the bus says the keyring is away');

  const startedAt = Date.now();
  await keyring.startKeyring();
  await everyAccount(second.broker, 'every account read back from the keychain', (view) => view.status === 'valid' && view.persisted && view.lastError === null, 10_000);
  const backMs = Date.now() - startedAt;
  console.log(`# 100 accounts waiting for the keychain: ${whileAway} keychain calls while it was away for 5 s; all valid ${backMs} ms after the keyring started (${store!.calls - callsAtStart} reads)`);
  assert.ok(backMs <= 2_000 + 1_000, `back after ${backMs} ms (the keyring's own start counts here too)`);
  assert.equal(op.requests('client_credentials'), issued, 'the stored tokens came back: no new token was needed');
  const token = await second.broker.getToken('svc-42');
  assert.ok(token.accessToken);
});

test('a keychain that refuses reads and cannot announce its return: one keychain call per retry round, not one per account, and no status rewritten each round', { timeout: 120_000 }, async () => {
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  cleanup.push(() => op.close());
  const first = await brokerHarness(op);
  const ids = Array.from({ length: 50 }, (_, i) => `refused-${i}`);
  for (const id of ids) {
    await first.broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
    await first.broker.signIn(id);
  }
  await everyPersisted(first.broker);
  first.broker.stop();
  await first.broker.settle();
  await first.vault.settle();

  let faulty: FaultyStore | null = null;
  const second = await brokerHarness(op, { home: first.home, service: first.service, store: (real) => { faulty = new FaultyStore(real); faulty.refusingReads = true; return faulty; } });
  cleanup.push(() => second.close());
  assert.ok(second.broker.list().every((view) => view.status === 'expired'), 'each account waits for the keychain');
  await sleep(500); // the start-up check's status writes land
  const file = join(first.home, 'accounts.json');
  const writtenAt = (await stat(file)).mtimeMs;
  const since = second.broker.list().map((view) => view.lastError?.at);
  const reads = faulty!.reads;
  await sleep(6_000); // the harness's backoff (250 ms, at most 2 s): several rounds
  const rounds = faulty!.reads - reads;
  console.log(`# 50 accounts, reads refused for 6 s: ${rounds} keychain reads`);
  assert.ok(rounds >= 2 && rounds <= 12, `${rounds} keychain reads in 6 s (one per round, not one per account per round)`);
  assert.deepEqual(second.broker.list().map((view) => view.lastError?.at), since, 'the same failure again changes no status (its time stays when it began)');
  assert.equal((await stat(file)).mtimeMs, writtenAt, 'accounts.json was not rewritten while nothing changed');

  faulty!.refusingReads = false;
  await everyAccount(second.broker, 'every account read back once reads work again', (view) => view.status === 'valid', 10_000);
});

test('memory-only, restarted, then the keyring starts: an account whose tokens lived in memory says it needs a sign-in (record_missing), not "expired" for ever', { timeout: 120_000 }, async () => {
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  cleanup.push(() => op.close());
  await keyring.killKeyring();
  const first = await brokerHarness(op);
  await first.broker.addAccount({ id: 'in-memory', name: 'In memory', flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
  await first.broker.signIn('in-memory');
  assert.equal(first.broker.view('in-memory').persisted, false, 'memory only');
  const second = await first.restart();
  cleanup.push(() => second.close());
  assert.equal(second.broker.view('in-memory').lastError?.code, 'keychain_unavailable', 'while the keychain is away, that is what it needs');
  await keyring.startKeyring();
  await eventually('the account says what it needs', () => second.broker.view('in-memory').status === 'reauth_required', 5_000);
  assert.equal(second.broker.view('in-memory').lastError?.code, 'record_missing');
  await assert.rejects(second.broker.getToken('in-memory'), { code: 'reauth_required' });
});
