import { isBrokerCall } from '../../../shared/broker-api.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { IpcAnswer } from '../../../shared/ipc.ts';
import type { BrokerApiService } from './broker-api-service.ts';

/**
 * One BrokerApi call from the desktop window, answered as a value: Electron turns a thrown
 * error into a bare string, so the error's code travels in the answer instead.
 */
export async function answerIpc(service: BrokerApiService, call: string, input: unknown): Promise<IpcAnswer> {
  try {
    if (!isBrokerCall(call)) throw new TokentrayError('not_found', `no call "${call.slice(0, 64)}"`);
    return { ok: true, value: await service.invoke(call, input) };
  } catch (error) {
    const failure = error instanceof TokentrayError ? error : new TokentrayError('internal', 'internal error');
    return { ok: false, error: { code: failure.code, message: failure.message } };
  }
}
