// The window's store (renderer/src/store.ts) against a broker whose answers and events arrive
// in either order, as they do over HTTP + SSE on a loaded machine: the store is under test,
// the BrokerApi in front of it is a stand-in that decides the order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccountView } from '../../shared/account-view.ts';
import type { BrokerApi, BrokerEvent } from '../../shared/broker-api.ts';
import { TokentrayError } from '../../shared/errors.ts';
import { createWindowStore } from '../../renderer/src/store.ts';

function view(id: string, name: string): AccountView {
  return { id, name, status: 'connecting', flow: 'device', provider: { issuer: 'https://id.example', preset: null }, scopes: [], hosts: [], accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null, lastError: null, persisted: true } as AccountView;
}

/** A BrokerApi whose addAccount runs `during` (sending events) before it answers. */
function broker(during: (send: (event: BrokerEvent) => void) => void, fail?: TokentrayError): BrokerApi {
  let listener: ((event: BrokerEvent) => void) | null = null;
  const api = {
    subscribe: (l: (event: BrokerEvent) => void) => { listener = l; return () => { listener = null; }; },
    addAccount: async (request: { name: string; id?: string }) => {
      during((event) => listener?.(event));
      if (fail) throw fail;
      return view(request.id ?? 'my-tv', request.name);
    },
  };
  return api as unknown as BrokerApi;
}

const deviceCode: BrokerEvent = { type: 'sign_in', id: 'my-tv', step: { event: 'device_code', user_code: 'WDJB-MJHT', verification_uri: 'https://id.example/device', verification_uri_complete: null, expires_in: 600 } };

test('a sign-in step that arrives before addAccount answers is kept (the wizard shows the user code)', async () => {
  const store = createWindowStore(broker((send) => send(deviceCode)));
  const stop = store.getState().start();
  const created = await store.getState().addAccount({ name: 'My TV', flow: 'device', issuer: 'https://id.example', clientId: 'tv' } as never);
  assert.equal(created?.id, 'my-tv');
  assert.deepEqual(store.getState().signIns['my-tv'], deviceCode.type === 'sign_in' ? deviceCode.step : null);
  stop();
});

test('a sign-in step that arrives after the answer replaces "starting"', async () => {
  let send: ((event: BrokerEvent) => void) | null = null;
  const store = createWindowStore(broker((s) => { send = s; }));
  const stop = store.getState().start();
  await store.getState().addAccount({ name: 'My TV', flow: 'device', issuer: 'https://id.example', clientId: 'tv' } as never);
  assert.deepEqual(store.getState().signIns['my-tv'], { event: 'starting' });
  send!(deviceCode);
  assert.equal(store.getState().signIns['my-tv']?.event, 'device_code');
  stop();
});

test('an add the broker refuses leaves no "starting" behind, and says why', async () => {
  const store = createWindowStore(broker(() => undefined, new TokentrayError('account_exists', 'an account "my-tv" exists already')));
  const stop = store.getState().start();
  assert.equal(await store.getState().addAccount({ name: 'My TV', flow: 'device', issuer: 'https://id.example', clientId: 'tv' } as never), null);
  assert.equal(store.getState().signIns['my-tv'], undefined);
  assert.match(store.getState().notices.at(-1)?.text ?? '', /exists already/);
  stop();
});
