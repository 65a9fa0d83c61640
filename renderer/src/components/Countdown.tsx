import { useWindow } from '../context.tsx';
import { localTime, timeLeft } from '../format.ts';

/** A live countdown to `at` ("expires in 4 min 12 s"), or what is known when there is none. */
export function Countdown({ label, at, none, kind }: { label?: string; at: string | null; none: string; kind: string }) {
  const prefix = label ? `${label}: ` : '';
  const now = useWindow((s) => s.now);
  if (!at) {
    return (
      <span className="countdown" data-kind={kind}>
        {prefix}
        {none}
      </span>
    );
  }
  const left = timeLeft(at, now);
  return (
    <span className={`countdown${left === 'expired' ? ' countdown-expired' : ''}`} data-kind={kind} data-expires-at={at} title={localTime(at)}>
      {prefix}
      {left === 'expired' ? 'expired' : <>expires in <time dateTime={at}>{left}</time></>}
    </span>
  );
}
