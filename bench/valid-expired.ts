// Every second, the broker's account list: no account may say `valid` with an access token
// that has expired. Shared by the soak and the scale bench; the scale bench starts it paused and
// resumes it after measuring idle CPU and the list's latency (its own requests would be in them).

export interface ValidExpired {
  samples: number;
  validExpired: number;
  /** Up to 10, for the report. */
  examples: string[];
}

export interface ValidExpiredWatch {
  readonly totals: ValidExpired;
  resume(): void;
  stop(): Promise<ValidExpired>;
}

interface Listed {
  accounts: Array<{ id: string; status: string; accessTokenExpiresAt: string | null }>;
}

export function watchValidExpired(url: string, key: string, options: { paused?: boolean } = {}): ValidExpiredWatch {
  const totals: ValidExpired = { samples: 0, validExpired: 0, examples: [] };
  let stopping = false;
  let paused = options.paused ?? false;
  const loop = (async () => {
    while (!stopping) {
      if (!paused) {
        const response = await fetch(`${url}/v1/accounts`, { headers: { authorization: `Bearer ${key}` } }).catch(() => null);
        const listed = response?.ok ? ((await response.json()) as Listed) : null;
        const now = Date.now();
        if (listed) {
          totals.samples++;
          for (const account of listed.accounts) {
            if (account.status === 'valid' && account.accessTokenExpiresAt && Date.parse(account.accessTokenExpiresAt) < now) {
              totals.validExpired++;
              if (totals.examples.length < 10) totals.examples.push(`${account.id}: valid, expired at ${account.accessTokenExpiresAt}`);
            }
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  return {
    totals,
    resume: () => (paused = false),
    stop: async () => {
      stopping = true;
      await loop;
      return totals;
    },
  };
}
