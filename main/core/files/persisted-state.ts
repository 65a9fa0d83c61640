/**
 * State kept in a file, changed one mutation at a time: each mutation is a function of the
 * state the previous one left (never a list computed before it waited its turn), and the new
 * state is in memory only once it is on disk. Two changes at the same moment therefore both
 * land — a revocation can never be undone by a concurrent approval or last-use save.
 */
export class PersistedState<T> {
  #value: T;
  #queue: Promise<void> = Promise.resolve();
  readonly #write: (value: T) => Promise<void>;

  constructor(initial: T, write: (value: T) => Promise<void>) {
    this.#value = initial;
    this.#write = write;
  }

  get value(): T {
    return this.#value;
  }

  /** The state as loaded from disk, before any mutation. */
  replace(value: T): void {
    this.#value = value;
  }

  /** Queues `change`; resolves with its result once the state it made is written. */
  mutate<R>(change: (current: T) => { next: T; result: R }): Promise<R> {
    const run = async (): Promise<R> => {
      const { next, result } = change(this.#value);
      await this.#write(next);
      this.#value = next;
      return result;
    };
    const done = this.#queue.then(run, run);
    this.#queue = done.then(() => undefined, () => undefined);
    return done;
  }

  /** Resolves once every mutation queued so far has landed. */
  settle(): Promise<void> {
    return this.#queue;
  }
}
