/**
 * The core's one seam to the wall clock and the network. Everything else in main/core takes a
 * `now` / `fetch` option and falls back to these, so a test moves time or stands in for a
 * provider through options, never module mocks; a lint rule keeps `Date.now()`, `new Date()`
 * and the global `fetch` out of the rest of main/core.
 */

/** The current time. */
export function systemNow(): Date {
  return new Date();
}

/** The current time in epoch milliseconds. */
export function systemMs(): number {
  return Date.now();
}

let isoMs = -1;
let iso = '';
/** systemNow().toISOString(), formatted once per millisecond (the token route stamps every request). */
export function systemIso(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** The global fetch (Node's undici), looked up at call time. */
export const systemFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);
