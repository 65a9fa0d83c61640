import { z } from 'zod';
import type { AccountView } from './account-view.ts';
import type { BrokerCall } from './ipc-channels.ts';
import { ERROR_CODES } from './errors.ts';

/**
 * The IPC contract between the desktop shell and the window is BrokerApi itself: one
 * channel per call, named after it, plus one for events. The channel list derives from
 * the contract, so the preload bridge, the main-side handlers and web mode cannot drift.
 */
export { IPC_CALL_CHANNELS, IPC_EVENT_CHANNEL, ipcChannel } from './ipc-channels.ts';

/** Errors cross IPC as values (Electron flattens thrown errors into strings). */
export const ipcAnswerSchema = z.union([
  z.strictObject({ ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() }) }),
]);
export type IpcAnswer = z.infer<typeof ipcAnswerSchema>;

/** What preload exposes on `window.tokentray`. */
export interface BrokerBridge {
  call(call: BrokerCall, input: unknown): Promise<IpcAnswer>;
  /** Hears broker events until the returned function is called. */
  subscribe(listener: (event: unknown) => void): () => void;
}

/** What the tray shows of an account. */
export type AccountSummary = Pick<AccountView, 'id' | 'name' | 'status' | 'flow' | 'accessTokenExpiresAt' | 'persisted'>;
