import { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';

const isoTime = z.iso.datetime({ offset: false });

/**
 * Everything secret about one account, stored as one keychain record. Versioned: `v` names the
 * format, `generation` grows by one with every successful write.
 */
export const tokenRecordSchema = z.strictObject({
  v: z.literal(1),
  generation: z.number().int().nonnegative(),
  tokenType: z.string().min(1).max(64).default('Bearer'),
  accessToken: z.string().min(1).nullable().default(null),
  accessTokenExpiresAt: isoTime.nullable().default(null),
  accessTokenIssuedAt: isoTime.nullable().default(null),
  refreshToken: z.string().min(1).nullable().default(null),
  refreshTokenExpiresAt: isoTime.nullable().default(null),
  refreshTokenIssuedAt: isoTime.nullable().default(null),
  idToken: z.string().min(1).nullable().default(null),
  idTokenExpiresAt: isoTime.nullable().default(null),
  scopes: z.array(z.string()).default([]),
  clientSecret: z.string().min(1).nullable().default(null),
  updatedAt: isoTime,
});

export type TokenRecord = z.infer<typeof tokenRecordSchema>;
export type TokenRecordInput = Omit<z.input<typeof tokenRecordSchema>, 'v' | 'generation' | 'updatedAt'>;

/** Every secret string a record holds, so the log redactor can learn them. */
export function secretsOf(record: TokenRecord): string[] {
  return [record.accessToken, record.refreshToken, record.idToken, record.clientSecret].filter((s): s is string => !!s);
}

/**
 * JSON with every non-ASCII character escaped: chunk boundaries then never split a character,
 * and byte length equals string length.
 */
export function serialiseRecord(record: TokenRecord): string {
  return JSON.stringify(record).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function parseRecord(text: string, accountId: string): TokenRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new TokentrayError('record_corrupt', `the keychain record of "${accountId}" is not valid JSON`, { cause });
  }
  const parsed = tokenRecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TokentrayError('record_corrupt', `the keychain record of "${accountId}" has an unknown shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
