import { z } from 'zod';

/**
 * The refresh journal: what the keychain process keeps for a broker that died between "the
 * provider issued a rotated refresh token" and "the keychain holds the record with it" (see
 * keychain-worker.ts). One keychain item (JOURNAL_ITEM, keychain-protocol.ts); the next broker
 * applies it before its first refresh (Vault.recover) and deletes it.
 */
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
