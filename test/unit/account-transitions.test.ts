// The account machine's rules, as a newcomer reads them in the README.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { decide, nextStatus, transitionTableMarkdown, TRANSITIONS, type Operation } from '../../main/core/broker/account-transitions.ts';
import { ACCOUNT_STATUSES } from '../../shared/status.ts';

const running = (...ops: Operation[]) => new Set(ops);

describe('account transitions', () => {
  test('a refresh outcome applies only while the account still says refreshing', () => {
    for (const event of ['refreshed', 'refresh_failed', 'grant_ended', 'refused'] as const) {
      assert.notEqual(nextStatus('refreshing', event, { tokenValid: true }), null, event);
      for (const status of ACCOUNT_STATUSES.filter((s) => s !== 'refreshing')) {
        assert.equal(nextStatus(status, event, { tokenValid: true }), null, `${event} from ${status}`);
      }
    }
  });

  test('a transient failure says retrying while the token is valid, expired after; never reauth or misconfigured', () => {
    assert.equal(nextStatus('refreshing', 'refresh_failed', { tokenValid: true }), 'retrying');
    assert.equal(nextStatus('refreshing', 'refresh_failed', { tokenValid: false }), 'expired');
  });

  test('nothing but a sign-in leaves reauth_required; misconfigured is left by a sign-in, a fix, or damaged tokens', () => {
    const leaves = (from: 'reauth_required' | 'misconfigured') =>
      Object.entries(TRANSITIONS).filter(([, rule]) => rule.from.includes(from) && rule.to !== from).map(([event]) => event).sort();
    assert.deepEqual(leaves('reauth_required'), ['signed_in']);
    assert.deepEqual(leaves('misconfigured'), ['reconfigured', 'record_damaged', 'signed_in']);
  });

  test('a sign-in is accepted from every status; connecting is left only by one', () => {
    for (const status of ACCOUNT_STATUSES) assert.equal(nextStatus(status, 'signed_in', { tokenValid: true }), 'valid');
    const fromConnecting = Object.entries(TRANSITIONS).filter(([, r]) => r.from.includes('connecting')).map(([e]) => e).sort();
    assert.deepEqual(fromConnecting, ['record_damaged', 'signed_in']);
  });

  test('commands while operations run: removal outranks all, a refresh is joined, a late refresh is superseded', () => {
    assert.equal(decide('refresh', running()), 'run');
    assert.equal(decide('refresh', running('refresh')), 'join');
    assert.equal(decide('refresh', running('remove', 'refresh')), 'refuse');
    assert.equal(decide('sign_in_done', running('refresh', 'sign_in')), 'supersede');
    assert.equal(decide('sign_in_done', running('sign_in')), 'run');
    assert.equal(decide('sign_in_done', running('remove', 'sign_in')), 'discard');
    assert.equal(decide('remove', running('refresh')), 'after');
    assert.equal(decide('remove', running('sign_in')), 'cancel');
    assert.equal(decide('reconfigure', running('refresh')), 'after');
    assert.equal(decide('sign_in', running('sign_in')), 'cancel');
  });

  test('the README shows the tables as the code has them', async () => {
    const readme = (await readFile(new URL('../../README.md', import.meta.url), 'utf8')).split('\n').map((l) => l.trimStart()).join('\n');
    assert.ok(readme.includes(transitionTableMarkdown()), 'README.md "How it works" holds transitionTableMarkdown() verbatim (regenerate it)');
  });
});
