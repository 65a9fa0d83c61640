import { z } from 'zod';

/**
 * The refresh journal: what the keychain process keeps for a broker that died between "the
 * provider issued a rotated refresh token" and "the keychain holds the record with it" (see
 * keychain-worker.ts). One keychain item; the next broker applies it before its first refresh
 * (Vault.recover) and deletes it. No account id can start with '#', so the name is free.
 */
export const JOURNAL_ITEM = '#journal';

/** The keychain process's answer to a call it dropped from its queue, its deadline passed. */
export const CANCELLED_BEFORE_START = 'cancelled before it started: its deadline had passed';

export const journalEntrySchema = z.strictObject({
  /** The refresh token the request presented (spent, if the provider answered). */
  presented: z.string().min(1),
  /** The provider's answer as it came: a JSON token response with a new refresh token. */
  body: z.string().max(1_048_576),
  /** When it was received (epoch ms). */
  at: z.number().int().nonnegative(),
});
export type JournalEntry = z.infer<typeof journalEntrySchema>;

export const journalSchema = z.strictObject({
  v: z.literal(1),
  /** The keychain process that wrote it, and whether it finished: a broker waits while it runs. */
  pid: z.number().int().positive(),
  done: z.boolean(),
  entries: z.record(z.string(), journalEntrySchema),
});
export type Journal = z.infer<typeof journalSchema>;

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
