import type { AccountStatus } from '../../../shared/status.ts';
import { STATUS_WORDS } from '../../../shared/status-words.ts';

export function StatusPill({ status }: { status: AccountStatus }) {
  return (
    <span className={`pill pill-${status}`} title={STATUS_WORDS[status].meaning}>
      {STATUS_WORDS[status].label}
    </span>
  );
}
