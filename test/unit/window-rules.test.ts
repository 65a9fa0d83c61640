import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newAccountProblems } from '../../shared/add-account-rules.ts';
import { BROKER_CALLS, brokerApiContract } from '../../shared/broker-api.ts';
import { ERROR_HELP } from '../../shared/error-help.ts';
import { ERROR_CODES } from '../../shared/errors.ts';
import { IPC_CALL_CHANNELS } from '../../shared/ipc.ts';
import { ACCOUNT_STATUSES } from '../../shared/status.ts';
import { STATUS_WORDS } from '../../shared/status-words.ts';
import { LOGIN_TOKEN_TTL_MS, SESSION_IDLE_MS, UiSessions } from '../../main/core/ui/ui-sessions.ts';

describe('window sessions (web mode)', () => {
  test('a login token works once, and not after 60 s', () => {
    let now = 1_000_000;
    const sessions = new UiSessions({ now: () => now });
    const token = sessions.issueLoginToken();
    assert.ok(token.length >= 43, '256 bits');
    const session = sessions.redeem(token);
    assert.ok(session);
    assert.equal(sessions.redeem(token), null, 'used once only');
    const late = sessions.issueLoginToken();
    now += LOGIN_TOKEN_TTL_MS;
    assert.equal(sessions.redeem(late), null, 'expired at 60 s');
    assert.equal(sessions.redeem('made-up'), null);
    assert.equal(sessions.touch(session), true);
  });

  test('a session ends after 12 h without use; each use restarts the clock', () => {
    let now = 0;
    const sessions = new UiSessions({ now: () => now });
    const session = sessions.redeem(sessions.issueLoginToken())!;
    now += SESSION_IDLE_MS - 1;
    assert.equal(sessions.touch(session), true, 'used just in time');
    now += SESSION_IDLE_MS - 1;
    assert.equal(sessions.touch(session), true, 'the clock restarted');
    now += SESSION_IDLE_MS;
    assert.equal(sessions.touch(session), false, '12 h idle: ended');
    assert.equal(sessions.touch(session), false);
  });
});

describe('the add-account rules the CLI, the broker and the form share', () => {
  const base = { name: 'Work', flow: 'browser', issuer: 'https://login.example.com', clientId: 'abc' };
  test('a complete account has no problem', () => {
    assert.deepEqual(newAccountProblems(base), {});
    assert.deepEqual(newAccountProblems({ name: 'Local', flow: 'device', issuer: 'http://127.0.0.1:8080', clientId: 'x' }), {});
    assert.deepEqual(newAccountProblems({ name: 'GitHub', flow: 'browser', preset: 'github', clientId: 'x' }), {}, 'a preset with endpoints needs no issuer');
    assert.deepEqual(newAccountProblems({ name: 'PAT', flow: 'manual', token: 'ghp_x' }), {});
  });
  test('each problem is named on its field, in plain words', () => {
    const problems = newAccountProblems({ name: ' ', flow: 'browser', issuer: 'http://login.example.com', revocationEndpoint: 'not a url' });
    assert.match(problems.name!, /give the account a name/);
    assert.match(problems.issuer!, /must use https/);
    assert.match(problems.revocationEndpoint!, /is not a URL/);
    assert.match(problems.clientId!, /client id is required/);
    assert.match(newAccountProblems({ ...base, issuer: undefined }).issuer!, /issuer .* or a token endpoint/);
    assert.match(newAccountProblems({ ...base, flow: 'grant' }).grantType!, /grant type/);
    assert.match(newAccountProblems({ ...base, flow: 'sideways' }).flow!, /one of browser/);
    assert.match(newAccountProblems({ ...base, preset: 'nope' }).preset!, /no preset "nope"/);
    assert.match(newAccountProblems({ ...base, id: 'Not A Slug' }).id!, /slug/);
    assert.match(newAccountProblems({ ...base, name: '!!!' }).name!, /cannot make an id/);
    assert.match(newAccountProblems({ name: 'PAT', flow: 'manual' }).token!, /paste the token/);
  });
});

describe('one vocabulary and one error table', () => {
  test('every status has plain words, every error code a meaning and a fix', () => {
    for (const status of ACCOUNT_STATUSES) assert.ok(STATUS_WORDS[status].label && STATUS_WORDS[status].meaning);
    assert.deepEqual(ACCOUNT_STATUSES.filter((s) => STATUS_WORDS[s].needsPerson), ['reauth_required', 'misconfigured']);
    for (const code of ERROR_CODES) assert.ok(ERROR_HELP[code].meaning && ERROR_HELP[code].fix, code);
  });
  test('the IPC channels are the BrokerApi calls, one each', () => {
    assert.deepEqual(IPC_CALL_CHANNELS, BROKER_CALLS.map((c) => `broker:${c}`));
    assert.deepEqual(BROKER_CALLS, Object.keys(brokerApiContract));
    assert.equal(BROKER_CALLS.length, 17);
  });
});
