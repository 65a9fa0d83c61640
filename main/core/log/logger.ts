import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { Redactor } from './redactor.ts';

/**
 * The one logger. Everything logged goes through the redactor first, whatever path it takes:
 * the merge object, the message, extra interpolation arguments, errors and their causes.
 */
export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go (default: stderr, so stdout stays clean for CLI output). */
  destination?: DestinationStream;
  redactor?: Redactor;
}

export function createLogger(options: LoggerOptions = {}): { logger: Logger; redactor: Redactor } {
  const redactor = options.redactor ?? new Redactor();
  const logger = pino(
    {
      name: 'tokentray',
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method) {
          const clean = args.map((arg) => redactor.redact(arg));
          // Errors passed first were turned into plain objects: keep pino's `err` convention.
          if (args[0] instanceof Error) clean[0] = { err: clean[0] };
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
      // Errors arrive here already redacted and flattened: pino must not re-read the original.
      serializers: { err: (err: unknown) => err },
      formatters: {
        bindings: (bindings) => redactor.redact(bindings) as Record<string, unknown>,
      },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
  redactors.set(logger, redactor);
  return { logger, redactor };
}

const redactors = new WeakMap<Logger, Redactor>();

/**
 * A child logger named after the part of the broker it serves, e.g. `refresh`. Use this, not
 * `logger.child()`: pino does not pass a child's bindings through the log hook, so they are
 * redacted here.
 */
export function childLogger(parent: Logger, name: string, bindings: Record<string, unknown> = {}): Logger {
  const redactor = redactors.get(parent) ?? new Redactor();
  const child = parent.child(redactor.redact({ ...bindings, component: name }) as Record<string, unknown>);
  redactors.set(child, redactor);
  return child;
}
