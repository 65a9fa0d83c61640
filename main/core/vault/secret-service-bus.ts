// The broker's own view of the Secret Service on the session bus, over one connection it keeps
// (session-bus.ts): a ping before the keychain process is trusted with a call, and word from the
// bus when the Secret Service comes back or goes away. Without a Secret Service, a broker in
// memory-only mode waits for that word instead of polling: each poll used to start a
// `dbus-send` process, which was most of an idle broker's CPU.
import { BusError, SessionBus } from './session-bus.ts';

const SECRETS = 'org.freedesktop.secrets';
const NAME_OWNER_CHANGED_RULE = `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${SECRETS}'`;
/** Bus errors that mean "nobody owns org.freedesktop.secrets" (and it cannot be started). */
const ABSENT = new Set(['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner']);

export type BusConnector = (address: string, timeoutMs: number) => Promise<SessionBus>;

/**
 * The connection is opened for a ping and kept only while the Secret Service is away (to hear
 * of its return): a broker whose keychain answers holds no bus connection of its own.
 */
export class SecretServiceBus {
  readonly #address: string;
  readonly #connect: BusConnector;
  #bus: SessionBus | null = null;
  #connecting: Promise<SessionBus> | null = null;
  /** The bus said nobody owns the Secret Service's name; it tells us when someone does. */
  #absent = false;
  readonly #returned = new Set<() => void>();
  readonly #lost = new Set<() => void>();

  constructor(address: string, connect: BusConnector = (a, t) => SessionBus.connect(a, t)) {
    this.#address = address;
    this.#connect = connect;
  }

  /**
   * True while the Secret Service is away from a bus we hold a connection to: its return will
   * be announced (onReturn), so whoever waits for it need not ask again and again.
   */
  get watchingForReturn(): boolean {
    return this.#absent && this.#bus !== null && !this.#bus.closed;
  }

  /** `listener` runs when a Secret Service takes its name on the bus (started, or restarted). */
  onReturn(listener: () => void): () => void {
    this.#returned.add(listener);
    return () => this.#returned.delete(listener);
  }

  /** `listener` runs when our connection ends while we wait for the Secret Service (the bus went away). */
  onLost(listener: () => void): () => void {
    this.#lost.add(listener);
    return () => this.#lost.delete(listener);
  }

  /**
   * Resolves when the Secret Service answers a ping within `timeoutMs`. Rejects with a BusError:
   * `unsupported` for a bus address this client cannot use, the bus's error name otherwise.
   */
  async ping(timeoutMs: number): Promise<void> {
    const started = performance.now();
    const bus = await this.#connected(timeoutMs);
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    try {
      await bus.call({ destination: SECRETS, path: '/org/freedesktop/secrets', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }, left);
      this.#absent = false;
    } catch (error) {
      this.#absent = error instanceof BusError && error.busName !== null && ABSENT.has(error.busName);
      throw error;
    } finally {
      if (!this.#absent) this.close(); // kept only to hear of a return
    }
  }

  /** Ends the connection (without calling onLost: nobody waits on it). */
  close(): void {
    const bus = this.#bus;
    this.#bus = null;
    this.#absent = false;
    bus?.close();
  }

  #connected(timeoutMs: number): Promise<SessionBus> {
    if (this.#bus && !this.#bus.closed) return Promise.resolve(this.#bus);
    this.#connecting ??= (async () => {
      const bus = await this.#connect(this.#address, timeoutMs);
      bus.onSignal((message) => {
        if (message.member !== 'NameOwnerChanged' || message.body[0] !== SECRETS) return;
        const owner = message.body[2];
        if (typeof owner !== 'string' || owner === '' || this.#bus !== bus) return;
        this.close();
        for (const listener of this.#returned) listener();
      });
      bus.onClose(() => {
        if (this.#bus !== bus) return;
        this.#bus = null;
        this.#absent = false;
        for (const listener of this.#lost) listener();
      });
      try {
        await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', args: [NAME_OWNER_CHANGED_RULE] }, timeoutMs);
      } catch (error) {
        bus.close();
        throw error;
      }
      this.#bus = bus;
      return bus;
    })().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }
}
