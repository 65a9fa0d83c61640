import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { ipcContract, type IpcChannel, type IpcRequest, type IpcResponse } from '../../shared/ipc.ts';
import { TokentrayError } from '../../shared/errors.ts';

export type IpcHandlers = { [C in IpcChannel]: (...args: IpcRequest<C>) => Promise<IpcResponse<C>> };

/**
 * Registers every channel of the contract. Each call must come from the main frame of our own
 * window, and its arguments and answer are parsed against the contract's schemas.
 */
export function registerIpc(handlers: IpcHandlers, trusted: () => WebContents | null, appUrl: string): void {
  for (const channel of Object.keys(ipcContract) as IpcChannel[]) {
    const contract = ipcContract[channel];
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...raw: unknown[]) => {
      const owner = trusted();
      const frame = event.senderFrame;
      if (!owner || event.sender !== owner || !frame || frame !== owner.mainFrame || !frame.url.startsWith(appUrl)) {
        throw new TokentrayError('forbidden_origin', `IPC "${channel}" refused: not from Tokentray's own window`);
      }
      const args = contract.request.parse(raw);
      const result = await handlers[channel](...args);
      return contract.response.parse(result);
    });
  }
}
