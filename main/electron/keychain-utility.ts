// The keychain process in the packaged app: the RunAsNode fuse is off there (REQUIREMENTS 24),
// so Node's fork cannot run it; Electron's utilityProcess can, with the same messages.
import { utilityProcess } from 'electron';
import { keychainWorkerFile, type KeychainWorkerFactory } from '../core/vault/keychain-store.ts';

export const utilityKeychainWorker: KeychainWorkerFactory = (service, options = {}) => {
  // --expose-gc: the keychain process collects dropped entries, which closes their D-Bus connections.
  const child = utilityProcess.fork(keychainWorkerFile.replace(/\.ts$/, '.js'), [service], { env: { ...process.env, TOKENTRAY_KEYCHAIN_WORKER_SERVICE: service, ...(options.handoffDir ? { TOKENTRAY_KEYCHAIN_HANDOFF_DIR: options.handoffDir } : {}) }, execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit'], serviceName: 'Tokentray keychain' });
  let alive = true;
  return {
    get pid() {
      return child.pid;
    },
    send: (message) => {
      if (alive) child.postMessage(message);
    },
    onMessage: (listener) => {
      child.on('message', (message: unknown) => listener(message));
    },
    onExit: (listener) => {
      child.on('exit', (code: number) => {
        alive = false;
        listener(`the keychain process exited (code ${code})`);
      });
    },
    ref: () => undefined, // a utility process never holds the app's event loop open
    kill: () => {
      alive = false;
      child.kill();
    },
  };
};
