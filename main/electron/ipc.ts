import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { BROKER_CALLS } from '../../shared/broker-api.ts';
import { IPC_EVENT_CHANNEL, ipcChannel, type IpcAnswer } from '../../shared/ipc.ts';
import type { BrokerApiService } from '../core/ui/broker-api-service.ts';
import { answerIpc } from '../core/ui/ipc-answer.ts';

/**
 * Registers one channel per BrokerApi call. Each call must come from the main frame of our own
 * window; the service parses its input and checks its answer against the shared contract.
 * Events go to the window on one channel. Returns a function that stops the events.
 */
export function registerIpc(service: BrokerApiService, trusted: () => WebContents | null, appUrl: string): () => void {
  for (const call of BROKER_CALLS) {
    ipcMain.handle(ipcChannel(call), async (event: IpcMainInvokeEvent, input: unknown): Promise<IpcAnswer> => {
      const owner = trusted();
      const frame = event.senderFrame;
      if (!owner || event.sender !== owner || !frame || frame !== owner.mainFrame || !frame.url.startsWith(appUrl)) {
        return { ok: false, error: { code: 'forbidden_origin', message: `IPC "${call}" refused: not from Tokentray's own window` } };
      }
      return answerIpc(service, call, input);
    });
  }
  return service.subscribe((event) => trusted()?.send(IPC_EVENT_CHANNEL, event));
}
