// The window's only way to the broker: exactly BrokerApi, one allow-listed channel per call
// (the list shared with web mode), plus the event channel. Sandboxed: it may require only
// `electron`, so the build bundles this file on its own into dist/main/electron/preload.cjs.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { BROKER_CALLS, IPC_EVENT_CHANNEL, ipcChannel, type BrokerCall } from '../../shared/ipc-channels.ts';

const calls = new Set<string>(BROKER_CALLS);

contextBridge.exposeInMainWorld('tokentray', {
  call(call: BrokerCall, input: unknown): Promise<unknown> {
    if (!calls.has(call)) return Promise.resolve({ ok: false, error: { code: 'not_found', message: `no call "${String(call).slice(0, 64)}"` } });
    return ipcRenderer.invoke(ipcChannel(call), input);
  },
  subscribe(listener: (event: unknown) => void): () => void {
    // The renderer never sees Electron's event object (it holds the sender).
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward);
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, forward);
  },
});
