/** How long until `iso`, in words a person reads at a glance ("4 min 12 s", "3 h 5 min", "12 days"). */
export function timeLeft(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  const days = Math.floor(s / 86_400);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/** A past or future time relative to now ("in 5 s", "3 min ago"). */
export function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  if (Math.abs(ms) < 1000) return 'now';
  return ms > 0 ? `in ${timeLeft(iso, now)}` : `${timeLeft(new Date(now + (now - Date.parse(iso))).toISOString(), now)} ago`;
}

export function localTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
