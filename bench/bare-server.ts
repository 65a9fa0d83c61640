// A bare node:http server, in a process of its own (as the broker is), that answers every
// request with the same body and headers: the baseline the broker's routes are measured against.
// Usage: node bench/bare-server.ts <spec.json>, spec = { body, headers, path? }; prints "ready <address>".
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { body: string; headers: Record<string, string>; path?: string };
const server = createServer((_req, res) => {
  res.writeHead(200, spec.headers);
  res.end(spec.body);
});
server.keepAliveTimeout = 5_000;
const ready = () => {
  const address = server.address();
  console.log(`ready ${typeof address === 'string' ? address : address?.port}`);
};
if (spec.path) server.listen(spec.path, ready);
else server.listen(0, '127.0.0.1', ready);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
