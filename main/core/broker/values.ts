import { TokentrayError } from '../../../shared/errors.ts';

export function date(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

export function asTokentrayError(error: unknown): TokentrayError {
  if (error instanceof TokentrayError) return error;
  return new TokentrayError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}
