import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../broker/broker.ts';

/** Server-Sent Events of account status changes, with heartbeats so idle proxies and clients know we live. */
export function openEventStream(req: IncomingMessage, res: ServerResponse, broker: Broker, heartbeatMs: number, visible: (accountId: string) => boolean): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(`retry: 2000\n: connected\n\n`);
  const stop = broker.onStatus((change) => {
    if (!visible(change.account.id)) return;
    res.write(`event: status\ndata: ${JSON.stringify({ previous: change.previous, account: change.account })}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
  heartbeat.unref();
  const close = () => {
    stop();
    clearInterval(heartbeat);
  };
  req.on('close', close);
  res.on('close', close);
}
