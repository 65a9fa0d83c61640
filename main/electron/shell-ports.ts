// Everything the desktop shell needs from Electron, as one object of small ports built in the
// entry file (main/electron/app.ts). Tests pass a recording stand-in: no decision lives here.
import type { NotifyMemory, Note } from './notification-policy.ts';
import type { TrayAction, TrayModel } from './tray-model.ts';

/** Who sent an IPC call: the shell's port fills it in from Electron's event. */
export interface IpcSender {
  /** The call came from the web contents of Tokentray's own main window. */
  fromOurWindow: boolean;
  /** It came from that window's main frame (not a sub-frame). */
  mainFrame: boolean;
  /** The URL of the frame that sent it. */
  url: string;
}

export interface ShellPorts {
  platform: NodeJS.Platform;
  app: {
    /** Ends the process once everything has stopped. */
    exit(code: number): void;
    /** The count of accounts needing action, where the platform shows one (dock, launcher). */
    setBadgeCount(count: number): void;
  };
  tray: {
    /** Draws the model: icon for its state, tooltip, badge, menu (set again on every change). */
    render(model: TrayModel): void;
    onAction(listener: (action: TrayAction) => void): void;
  };
  notifications: {
    supported(): boolean;
    show(note: Note, onClick: () => void): void;
  };
  windows: {
    /** Opens the main window (or brings it forward) at a route of the renderer. */
    show(route: string): void;
    /** Sends an event to the window, if it is open. */
    send(channel: string, payload: unknown): void;
  };
  ipc: {
    handle(channel: string, handler: (sender: IpcSender, input: unknown) => Promise<unknown>): void;
  };
  shell: {
    /** Opens a URL in the system browser (never inside the app). */
    openExternal(url: string): Promise<void>;
  };
  loginItems: {
    get(): Promise<boolean>;
    set(enabled: boolean): Promise<void>;
  };
  memory: {
    load(): Promise<NotifyMemory>;
    save(memory: NotifyMemory): Promise<void>;
  };
  power: {
    onResume(listener: () => void): void;
  };
  log: {
    warn(message: string, details?: Record<string, unknown>): void;
  };
}
