import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokentrayError } from '../../shared/errors.ts';
import { childLogger } from '../../main/core/log/logger.ts';
import { canary, canaryJwt } from '../fixtures/canary.ts';
import { capturingLogger } from '../fixtures/logs.ts';

describe('log redaction', () => {
  test('canary tokens fed through every log path never reach the output', () => {
    const { logger, redactor, lines } = capturingLogger();
    const access = canaryJwt(1200);
    const refresh = canary('refresh');
    const id = canaryJwt(600);
    const secret = canary('client_secret');
    const verifier = canary('verifier');
    const opaque = canary('opaque'); // no token shape at all: only the registry can catch it
    // The vault and the OAuth flows register every secret they handle, as here.
    for (const value of [access, refresh, id, secret, verifier, opaque]) redactor.addSecret(value);
    const tokenResponse = { access_token: access, refresh_token: refresh, id_token: id, token_type: 'Bearer', expires_in: 3600 };
    const log = childLogger(logger, 'refresh');

    // 1. fields, at the top and nested, snake and camel case
    log.info(tokenResponse, 'token response');
    log.info({ account: 'a', response: { body: tokenResponse, headers: { Authorization: `Bearer ${access}` } } }, 'nested');
    log.info({ record: { accessToken: access, refreshToken: refresh, idToken: id, clientSecret: secret, codeVerifier: verifier } });
    log.info({ list: [{ refresh_token: refresh }, [{ client_secret: secret }]] }, 'arrays');
    // 2. inside messages and interpolation arguments
    log.warn(`sent refresh_token=${refresh}&client_secret=${secret}&code_verifier=${verifier}`);
    log.warn('header was %s and body %s', `Bearer ${access}`, JSON.stringify(tokenResponse));
    log.warn(`opaque value ${opaque} in a message`);
    // 3. errors with causes, messages and stacks
    const cause = new Error(`provider said: invalid refresh_token ${refresh} for ${opaque}`);
    log.error(new TokentrayError('invalid_grant', `grant ${access} rejected`, { cause }), 'refresh failed');
    log.error({ err: new Error(`client_secret=${secret}`) }, 'error field');
    // 4. child bindings and URL objects
    childLogger(log, 'x', { token: refresh, url: new URL(`http://127.0.0.1/cb?code=${verifier}&state=s`) }).info('bound');
    // 5. every level
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) log[level]({ refresh_token: refresh }, `level ${level} ${id}`);

    const output = lines();
    for (const value of [access, refresh, id, secret, verifier, opaque]) {
      assert.ok(!output.includes(value), `a secret leaked into the log: ${value.slice(0, 16)}…`);
    }
    assert.doesNotMatch(output, /CANARY_/);
    assert.doesNotMatch(output, /eyJ[A-Za-z0-9_-]{20,}\.eyJ/);
    // The log is still useful: codes, names and non-secret fields survive.
    assert.match(output, /"code":"invalid_grant"/);
    assert.match(output, /"expires_in":3600/);
    assert.match(output, /"component":"refresh"/);
    assert.match(output, /\[redacted\]/);
    assert.equal(output.trim().split('\n').length, 16, 'every call produced one line');
  });

  test('secrets nobody registered are still caught by field name and by shape', () => {
    const { logger, lines } = capturingLogger();
    const jwt = canaryJwt(900);
    const opaque = canary('unregistered');
    logger.info({ refresh_token: opaque, nested: { clientSecret: opaque, Authorization: `Basic ${opaque}` } });
    logger.info(`grant_type=refresh_token&refresh_token=${opaque}&client_secret=${opaque}`);
    logger.info(`Authorization: Bearer ${opaque} and a JWT ${jwt}`);
    logger.info(`body {"refresh_token":"${opaque}","id_token": "${jwt}"}`);
    logger.error(new Error(`token ${jwt} cut short: ${jwt.slice(0, 300)}`));
    const output = lines();
    assert.ok(!output.includes(opaque) && !output.includes(jwt.slice(0, 200)), output);
    assert.match(output, /grant_type=refresh_token/);
  });

  test('the redactor keeps error codes and ordinary fields readable', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ lastError: { code: 'keychain_unavailable', message: 'no bus' }, account: 'github', persisted: false }, 'status');
    const line = JSON.parse(lines()) as Record<string, unknown>;
    assert.deepEqual(line['lastError'], { code: 'keychain_unavailable', message: 'no bus' });
    assert.equal(line['account'], 'github');
    assert.equal(line['persisted'], false);
  });
});

describe('the set of known secrets stays bounded', () => {
  test('10,000 rotations of one account keep two generations; both are still scrubbed; removal forgets them', () => {
    const { logger, redactor, lines } = capturingLogger();
    let previous = '';
    let current = '';
    for (let i = 0; i < 10_000; i++) {
      previous = current;
      current = `opaque-refresh-${i}-${'x'.repeat(20)}`;
      redactor.setOwnedSecrets('work', [current, `opaque-access-${i}-${'y'.repeat(20)}`, null]);
    }
    assert.equal(redactor.size, 4, 'the current and the previous generation, nothing older');
    logger.info(`late line with ${previous} and ${current}`);
    const out = lines();
    assert.doesNotMatch(out, /opaque-refresh-999[89]/);
    redactor.setOwnedSecrets('other', ['another-secret-value']);
    redactor.forgetOwner('work');
    assert.equal(redactor.size, 1);
  });

  test('10,000 accounts (30,000 secrets): each found wherever it sits, longest first, at a cost per line that does not grow with them', async () => {
    const { Redactor, REDACTED } = await import('../../main/core/log/redactor.ts');
    const redactor = new Redactor();
    // All alike at the start, as tokens are (`eyJhbGciOi…`); apart at the end.
    const value = (i: number, kind: string) => `plain-value-${kind}-${String(i).padStart(5, '0')}`;
    for (let i = 0; i < 10_000; i++) redactor.setOwnedSecrets(`acct-${i}`, [value(i, 'rt'), value(i, 'at'), 'shared-client-secret-of-all']);
    redactor.addSecret('plain-value-x'); // starts like 20,000 others
    const line = `refresh of acct-4242 with ${value(4242, 'rt')}; secret shared-client-secret-of-all; short plain-value-x and ${value(9999, 'at')}.`;
    assert.equal(redactor.redactString(line), `refresh of acct-4242 with ${REDACTED}; secret ${REDACTED}; short ${REDACTED} and ${REDACTED}.`);
    assert.equal(redactor.redactString(`at the very end:${value(0, 'at')}`), `at the very end:${REDACTED}`);
    // Rotation and removal keep the index right: the old generation is still scrubbed, the one
    // before it and a removed account's no longer are (no token shape here to catch them).
    redactor.setOwnedSecrets('acct-7', [value(70_000, 'rt'), value(70_000, 'at')]);
    redactor.setOwnedSecrets('acct-7', [value(70_001, 'rt'), value(70_001, 'at')]);
    assert.equal(redactor.redactString(value(70_000, 'rt')), REDACTED, 'the previous generation');
    assert.equal(redactor.redactString(value(7, 'rt')), value(7, 'rt'), 'two generations back');
    redactor.forgetOwner('acct-8');
    assert.equal(redactor.redactString(value(8, 'at')), value(8, 'at'));
    assert.equal(redactor.redactString('shared-client-secret-of-all'), REDACTED, 'still held by the other accounts');
    const started = performance.now();
    for (let i = 0; i < 2_000; i++) redactor.redactString(`${line} ${'ordinary words '.repeat(20)}${i}`);
    const ms = performance.now() - started;
    assert.ok(ms < 1_000, `2,000 lines in ${ms.toFixed(0)} ms`);
  });
});
