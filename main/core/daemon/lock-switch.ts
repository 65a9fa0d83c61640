/** The person's lock: while on, every token route refuses (423 `locked`); refresh goes on. */
export class LockSwitch {
  #locked = false;
  readonly #listeners = new Set<(locked: boolean) => void>();

  get locked(): boolean {
    return this.#locked;
  }

  set(locked: boolean): void {
    if (locked === this.#locked) return;
    this.#locked = locked;
    for (const listener of this.#listeners) listener(locked);
  }

  onChange(listener: (locked: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
