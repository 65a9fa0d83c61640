/**
 * At most `max` calls at once; the rest wait in arrival order. One per provider: a thousand
 * accounts falling due together must not open a thousand connections to one token endpoint
 * (providers answer a stampede with 429s, or worse).
 */
export class ConcurrencyLimit {
  readonly #max: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** The most calls that ran at once (for measurements). */
  peak = 0;

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    this.peak = Math.max(this.peak, this.#running);
    try {
      return await call();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
