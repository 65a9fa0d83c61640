// Web mode: BrokerApi over `POST /ui/api/<call>` and a streamed `GET /ui/api/events`. The
// session cookie is HttpOnly (this code never sees it); every request says X-Tokentray-UI: 1.
import { brokerApiClient, errorFromAnswer } from '../../../shared/broker-api-client.ts';
import type { BrokerApi } from '../../../shared/broker-api.ts';
import { TokentrayError } from '../../../shared/errors.ts';

const HEADERS = { 'x-tokentray-ui': '1' };

async function send(call: string, input: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`./ui/api/${call}`, { method: 'POST', credentials: 'same-origin', cache: 'no-store', headers: { ...HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  } catch (cause) {
    throw new TokentrayError('broker_not_running', 'Tokentray is not answering', { cause, retryable: true });
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw errorFromAnswer(body, `HTTP ${response.status}`);
  return body;
}

/**
 * Server-Sent Events read through fetch (EventSource cannot send the X-Tokentray-UI header).
 * When the stream ends it says "lost" and tries again every 2 s until the broker is back.
 */
function subscribe(listener: (raw: unknown) => void, onState: (state: 'open' | 'lost') => void): () => void {
  let stopped = false;
  let controller = new AbortController();
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch('./ui/api/events', { credentials: 'same-origin', cache: 'no-store', headers: HEADERS, signal: controller.signal });
        if (!response.ok || !response.body) throw errorFromAnswer(await response.json().catch(() => null), `HTTP ${response.status}`);
        onState('open');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            if (data) listener(JSON.parse(data));
          }
        }
      } catch (error) {
        if (stopped) return;
        if (error instanceof TokentrayError && error.code === 'unauthorized') {
          onState('lost');
          return; // the session ended: the store shows how to open a new one
        }
      }
      if (stopped) return;
      onState('lost');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

export function httpBrokerApi(): BrokerApi {
  return brokerApiClient(send, subscribe);
}
