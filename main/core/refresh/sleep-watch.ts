import { systemMs } from '../clock.ts';

const CHECK_EVERY_MS = 5_000;
const GAP_MS = 30_000;

/**
 * Headless there is no "resume" event: a timer that fires more than 30 s late means the
 * machine slept (or the process was stopped), and every account must be checked again.
 * Wall-clock time on purpose: the monotonic clock stops while the machine is suspended.
 */
export function watchForSleep(onWake: () => void, now: () => number = systemMs): () => void {
  let last = now();
  const timer = setInterval(() => {
    const at = now();
    const gap = at - last;
    last = at;
    if (gap > CHECK_EVERY_MS + GAP_MS) onWake();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
