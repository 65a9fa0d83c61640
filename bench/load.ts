import autocannon from 'autocannon';

export interface Load {
  rps: number;
  /** Milliseconds. */
  p99: number;
  errors: number;
  /** Requests answered in all. */
  total: number;
}

/** autocannon against one target for `seconds`, with a bearer key; errors count non-2xx and timeouts. */
export function load(target: { url: string; socketPath?: string }, path: string, key: string, seconds: number, connections: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${target.url}${path}`, ...(target.socketPath ? { socketPath: target.socketPath } : {}), connections, duration: seconds, headers: { authorization: `Bearer ${key}` } },
      (error, result) => {
        if (error) reject(error);
        else resolve({ rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts, total: result.requests.total });
      },
    );
  });
}
