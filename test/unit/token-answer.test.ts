// The hot path reuses one token answer while nothing it says has changed; these pin down when
// "nothing changed" holds, so a cached answer can never hand out a stale token or expiry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cachedTokenAnswer, recordTimes, tokenAnswer } from '../../main/core/broker/token-answer.ts';
import type { AccountDefinition } from '../../shared/account.ts';
import type { TokenRecord } from '../../main/core/vault/token-record.ts';

const T0 = Date.UTC(2030, 0, 1);
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const record = (accessToken: string, lifetimeS = 3600): TokenRecord => ({
  v: 1, generation: 1, updatedAt: iso(0),
  tokenType: 'Bearer', accessToken, accessTokenExpiresAt: iso(lifetimeS), accessTokenIssuedAt: iso(0),
  refreshToken: null, refreshTokenExpiresAt: null, refreshTokenIssuedAt: null,
  idToken: null, idTokenExpiresAt: null, scopes: [], clientSecret: 'app-secret',
});

const account = (scopes: string[], appsecretProof = false): AccountDefinition => ({
  id: 'acme', name: 'Acme', flow: 'client-credentials', provider: { tokenEndpoint: 'https://idp.example/token' }, clientId: 'c',
  hasClientSecret: true, scopes, hosts: [], params: {}, appsecretProof, createdAt: iso(0),
  state: { status: 'valid', accessTokenExpiresAt: iso(3600), refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null, lastError: null },
});

describe('cached token answers', () => {
  test('the same answer object within one second of expires_in, for the same record and definition', () => {
    const r = record('at-1');
    const a = account(['read']);
    const first = cachedTokenAnswer(a, r, T0 + 10_100);
    assert.equal(cachedTokenAnswer(a, r, T0 + 10_900), first, 'same second left: reused');
    assert.ok(Object.isFrozen(first), 'shared, so frozen');
    assert.deepEqual(first, tokenAnswer(a, r, new Date(T0 + 10_100)), 'says exactly what a fresh answer says');
  });

  test('a new second, a new record or a new definition gives a new, correct answer', () => {
    const r = record('at-1');
    const a = account(['read']);
    const first = cachedTokenAnswer(a, r, T0 + 10_100);
    const later = cachedTokenAnswer(a, r, T0 + 11_100);
    assert.notEqual(later, first);
    assert.equal(later.expiresIn, 3588);
    const rotated = cachedTokenAnswer(a, record('at-2'), T0 + 11_100);
    assert.equal(rotated.accessToken, 'at-2', 'a new token is never answered with the old one');
    const edited = cachedTokenAnswer(account(['read', 'write'], true), r, T0 + 11_100);
    assert.equal(edited.scope, 'read write');
    assert.match(edited.appsecretProof ?? '', /^[0-9a-f]{64}$/, 'a definition that now asks for a proof gets one');
  });

  test('expires_in never goes below 0 and a record without an expiry says null', () => {
    assert.equal(cachedTokenAnswer(account([]), record('at-1', 5), T0 + 60_000).expiresIn, 0);
    const open = { ...record('at-3'), accessTokenExpiresAt: null };
    assert.equal(cachedTokenAnswer(account([]), open, T0).expiresIn, null);
    assert.deepEqual(recordTimes(open), { expiresMs: null, lifetimeMs: null });
    assert.deepEqual(recordTimes(record('at-4', 30)), { expiresMs: T0 + 30_000, lifetimeMs: 30_000 });
  });
});
