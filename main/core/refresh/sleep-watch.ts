const CHECK_EVERY_MS = 5_000;
const GAP_MS = 30_000;

/**
 * Headless there is no "resume" event: a timer that fires more than 30 s late means the
 * machine slept (or the process was stopped), and every account must be checked again.
 */
export function watchForSleep(onWake: () => void): () => void {
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const gap = now - last;
    last = now;
    if (gap > CHECK_EVERY_MS + GAP_MS) onWake();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
