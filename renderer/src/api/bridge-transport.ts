// The desktop window: BrokerApi over the preload bridge (Electron IPC). Same contract, same
// parsing as web mode; only the way a call travels differs.
import { brokerApiClient } from '../../../shared/broker-api-client.ts';
import type { BrokerApi } from '../../../shared/broker-api.ts';
import type { BrokerBridge } from '../../../shared/ipc.ts';
import { TokentrayError } from '../../../shared/errors.ts';

declare global {
  interface Window {
    tokentray?: BrokerBridge;
  }
}

export function bridgeBrokerApi(bridge: BrokerBridge): BrokerApi {
  return brokerApiClient(
    async (call, input) => {
      const answer = await bridge.call(call, input);
      if (answer.ok) return answer.value;
      throw new TokentrayError(answer.error.code, answer.error.message);
    },
    (listener, onState) => {
      onState('open');
      return bridge.subscribe(listener);
    },
  );
}
