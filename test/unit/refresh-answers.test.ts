// What a refresh answer that is not usable still carries: at a provider that rotates refresh
// tokens, a 200 has spent the presented one, so a new refresh token in it is the grant, and a
// crash journal or a live refresh that threw it away would present the spent one next time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyJournalEntry } from '../../main/core/broker/journal-recovery.ts';
import { issuedRefreshToken } from '../../main/core/oauth/token-body.ts';
import type { TokenRecord } from '../../main/core/vault/token-record.ts';

const record: TokenRecord = {
  v: 1, generation: 3, updatedAt: '2030-01-01T00:00:00.000Z',
  tokenType: 'Bearer', accessToken: 'at-old', accessTokenExpiresAt: '2030-01-01T01:00:00.000Z', accessTokenIssuedAt: '2030-01-01T00:00:00.000Z',
  refreshToken: 'rt-spent', refreshTokenExpiresAt: '2030-02-01T00:00:00.000Z', refreshTokenIssuedAt: '2030-01-01T00:00:00.000Z',
  idToken: null, idTokenExpiresAt: null, scopes: ['openid'], clientSecret: null,
};

describe('a refresh token in an unusable answer', () => {
  test('is found in any JSON object answer, whatever else is wrong with it; never in anything else', () => {
    assert.equal(issuedRefreshToken('{"refresh_token":"rt-new"}'), 'rt-new');
    assert.equal(issuedRefreshToken('{"access_token":"","refresh_token":"rt-new","expires_in":"soon"}'), 'rt-new');
    for (const body of ['', 'refresh_token', '{"refresh_token":42}', '{"refresh_token":""}', '["refresh_token"]', '{"refresh_token":"rt', '<html>refresh_token</html>', `{"refresh_token":"${'x'.repeat(20_000)}"}`]) {
      assert.equal(issuedRefreshToken(body), null, body.slice(0, 40));
    }
  });

  test('a journalled answer with a refresh token and no access token keeps the new refresh token and the rest of the record', () => {
    const at = Date.UTC(2030, 0, 1, 0, 30);
    const kept = applyJournalEntry(record, { presented: 'rt-spent', body: JSON.stringify({ refresh_token: 'rt-new', access_token: '' }), at });
    assert.ok(kept);
    assert.equal(kept.refreshToken, 'rt-new');
    assert.equal(kept.refreshTokenIssuedAt, new Date(at).toISOString());
    assert.equal(kept.accessToken, 'at-old', 'the access token still served is untouched');
    assert.equal(kept.accessTokenExpiresAt, record.accessTokenExpiresAt);
    assert.equal(applyJournalEntry(record, { presented: 'rt-other', body: JSON.stringify({ refresh_token: 'rt-new' }), at }), null, 'a stale entry is ignored');
    assert.equal(applyJournalEntry(record, { presented: 'rt-spent', body: JSON.stringify({ access_token: 'at-new' }), at }), null, 'no refresh token: nothing to keep');
  });
});
