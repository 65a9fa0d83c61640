// Preload (sandboxed, so CommonJS): an allow-listed bridge, never raw ipcRenderer.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload cannot be an ES module
const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron');

const bridge = {
  listAccounts: (): Promise<unknown> => ipcRenderer.invoke('accounts:list'),
};

contextBridge.exposeInMainWorld('tokentray', bridge);
