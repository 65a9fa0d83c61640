import { toGrantResult } from '../oauth/grant-result.ts';
import type { JournalEntry } from '../vault/refresh-journal.ts';
import type { TokenRecord, TokenRecordInput } from '../vault/token-record.ts';
import { mergeGrant, withIssuedRefreshToken } from './record-merge.ts';

/**
 * A journalled refresh answer (refresh-journal.ts) applied to the record a crashed broker left:
 * the record as that refresh would have stored it — but only while the record still holds the
 * refresh token the request presented (else a newer write already landed and the entry is stale).
 * An answer with a refresh token and nothing else usable keeps that refresh token (as a live
 * refresh does: RefreshEngine), since the presented one is spent.
 */
export function applyJournalEntry(record: TokenRecord, entry: JournalEntry): TokenRecordInput | null {
  if (record.refreshToken !== entry.presented) return null;
  try {
    const answer = JSON.parse(entry.body) as Parameters<typeof toGrantResult>[0];
    if (typeof answer.refresh_token !== 'string' || !answer.refresh_token) return null;
    if (typeof answer.access_token !== 'string' || !answer.access_token) return withIssuedRefreshToken(record, answer.refresh_token, new Date(entry.at));
    return mergeGrant(record, toGrantResult(answer, new Date(entry.at)), record.scopes, { freshSignIn: false });
  } catch {
    return null;
  }
}
