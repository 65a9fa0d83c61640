import { ERROR_HELP } from '../../../shared/error-help.ts';
import type { ErrorCode } from '../../../shared/errors.ts';

/** An error in plain words, with what to do about it (the same advice the tray and CLI give). */
export function ErrorHelp({ code, message }: { code: ErrorCode; message: string }) {
  const help = ERROR_HELP[code];
  return (
    <div className="error-help">
      <p>
        <strong>{help.meaning}</strong> <span className="detail">{message}</span>
      </p>
      <p className="fix">What to do: {help.fix}</p>
    </div>
  );
}
