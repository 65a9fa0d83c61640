import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../broker/broker.ts';
import { systemNow } from '../clock.ts';

/**
 * A Server-Sent Events stream: `subscribe` gets a writer and returns how to stop; heartbeats
 * let idle proxies and clients know we live; a closed connection stops everything.
 */
export function serveEvents(req: IncomingMessage, res: ServerResponse, heartbeatMs: number, subscribe: (send: (block: string) => void) => () => void): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(`retry: 2000\n: connected\n\n`);
  const stop = subscribe((block) => res.write(block));
  const heartbeat = setInterval(() => res.write(`: heartbeat ${systemNow().toISOString()}\n\n`), heartbeatMs);
  heartbeat.unref();
  const close = () => {
    stop();
    clearInterval(heartbeat);
  };
  req.on('close', close);
  res.on('close', close);
}

/** `GET /v1/events`: account status changes the caller may see. */
export function openEventStream(req: IncomingMessage, res: ServerResponse, broker: Broker, heartbeatMs: number, visible: (accountId: string) => boolean): void {
  serveEvents(req, res, heartbeatMs, (send) =>
    broker.onStatus((change) => {
      if (visible(change.account.id)) send(`event: status\ndata: ${JSON.stringify({ previous: change.previous, account: change.account })}\n\n`);
    }),
  );
}
