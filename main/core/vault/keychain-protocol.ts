// What the broker and the keychain process say to each other besides keychain calls, and the
// names they share. No zod here: the keychain process imports this at start, and every
// millisecond of its start comes out of the first keychain call's wait (zod alone took 80 ms
// of a 180 ms start).

/** The refresh journal's keychain item (its schema: refresh-journal.ts). No account id can start with '#'. */
export const JOURNAL_ITEM = '#journal';

/** The keychain process's answer to a call it dropped from its queue, its deadline passed. */
export const CANCELLED_BEFORE_START = 'cancelled before it started: its deadline had passed';

/** A refresh request the broker asks the keychain process to send (see KeychainStore.guardedFetch). */
export interface WorkerFetch {
  id: number;
  op: 'fetch';
  /** The account whose refresh this is, and the refresh token it presents. */
  account: string;
  presented: string;
  url: string;
  method: string;
  headers: Array<[string, string]>;
  body: string | null;
  timeoutMs: number;
  maxBytes: number;
}

export interface WorkerFetchAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  /** The request reached the wire (see request-sent.ts). */
  sent: boolean;
}
