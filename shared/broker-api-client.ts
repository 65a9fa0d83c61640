import { BROKER_CALLS, brokerApiContract, brokerEventSchema, type BrokerApi, type BrokerCall, type BrokerEvent, type CallTransport } from './broker-api.ts';
import { ERROR_CODES, TokentrayError, type ErrorCode } from './errors.ts';

/**
 * The window's BrokerApi over any transport: each call's input is parsed before it is sent
 * and its answer after it arrives, against the one contract; events likewise.
 */
export function brokerApiClient(send: CallTransport, subscribe: (listener: (raw: unknown) => void, onState: (state: 'open' | 'lost') => void) => () => void): BrokerApi {
  const api = {} as Record<BrokerCall, (input: unknown) => Promise<unknown>>;
  for (const call of BROKER_CALLS) {
    const contract = brokerApiContract[call];
    api[call] = async (input: unknown) => {
      const parsed = contract.input.safeParse(input ?? {});
      if (!parsed.success) throw new TokentrayError('bad_request', parsed.error.issues.map((i) => `${i.path.join('.') || call}: ${i.message}`).join('; '));
      const answer = contract.output.safeParse(await send(call, parsed.data));
      if (!answer.success) throw new TokentrayError('internal', `the broker's answer to ${call} has an unexpected shape`);
      return answer.data;
    };
  }
  return {
    ...(api as unknown as Omit<BrokerApi, 'subscribe'>),
    subscribe: (listener: (event: BrokerEvent) => void, onState) =>
      subscribe((raw) => {
        const event = brokerEventSchema.safeParse(raw);
        if (event.success) listener(event.data);
      }, onState),
  };
}

/** An error answer from a transport (`{"error":{"code","message"}}`) as a TokentrayError. */
export function errorFromAnswer(body: unknown, fallback: string): TokentrayError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' && (ERROR_CODES as readonly string[]).includes(error.code) ? (error.code as ErrorCode) : 'internal';
  return new TokentrayError(code, typeof error?.message === 'string' ? error.message : fallback);
}
