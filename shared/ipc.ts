import { z } from 'zod';
import { ACCOUNT_STATUSES } from './status.ts';

/**
 * The whole IPC contract between the desktop shell and the renderer, in one place: handler and
 * bridge types derive from it, so a channel cannot drift between the two sides.
 */
export const accountSummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(ACCOUNT_STATUSES),
  flow: z.string(),
  accessTokenExpiresAt: z.string().nullable(),
  persisted: z.boolean(),
});
export type AccountSummary = z.infer<typeof accountSummarySchema>;

export const ipcContract = {
  'accounts:list': { request: z.tuple([]), response: z.array(accountSummarySchema) },
} as const;

export type IpcChannel = keyof typeof ipcContract;
export type IpcRequest<C extends IpcChannel> = z.infer<(typeof ipcContract)[C]['request']>;
export type IpcResponse<C extends IpcChannel> = z.infer<(typeof ipcContract)[C]['response']>;

/** What preload exposes on `window.tokentray`. */
export interface BrokerBridge {
  listAccounts(): Promise<AccountSummary[]>;
}
