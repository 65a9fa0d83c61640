/**
 * The port through which the vault reaches a keychain. Names are keychain "account" names
 * under one service; values are opaque strings.
 */
export interface SecretStore {
  /** Human-readable name for messages ("Secret Service", "memory"). */
  readonly label: string;
  /**
   * The largest value this store keeps in one item, in bytes of its UTF-8 encoding, or null
   * when there is no practical limit. Windows Credential Manager caps a blob at 2,560 bytes.
   */
  readonly maxSecretBytes: number | null;
  /** Whether values survive a restart of the process. */
  readonly persistent: boolean;
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  /** Resolves true if an item was deleted, false if there was none. */
  delete(name: string): Promise<boolean>;
  /**
   * Resolves once no call is in flight any more (even one that already missed its deadline), or
   * after `maxMs`. Before the process exits: gnome-keyring can abort when a client leaves with a
   * request still open (https://github.com/basecamp/hey-cli/issues/352), taking every app's secrets with it.
   */
  settle?(maxMs: number): Promise<void>;
  /**
   * A fetch for one refresh request that survives a crash of the broker: a rotated refresh
   * token it brings back is journalled (refresh-journal.ts) until a record holding it is
   * written. Only a keychain with a process of its own can offer it.
   */
  fetchFor?(journal: { account: string; presented: string; timeoutMs: number }): typeof fetch;
  /**
   * True while the keychain is known to be away and its return will be announced through
   * `onReturn` (the Secret Service left a session bus we watch): whoever waits for it need not
   * keep asking. Stores that cannot tell omit both.
   */
  readonly watchingForReturn?: boolean;
  /** `listener` runs when the keychain may be back (a Secret Service took its name on the bus). */
  onReturn?(listener: () => void): () => void;
}
