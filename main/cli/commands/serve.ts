import { flag, parseArgs, UsageError } from '../args.ts';

/** `tokentray serve`: the broker headless, in the foreground, until SIGTERM or SIGINT. */
export async function serveCommand(home: string, argv: string[], version: string): Promise<number> {
  const args = parseArgs(argv, { values: ['port'], booleans: [] });
  if (args.positionals.length > 0) throw new UsageError('usage: tokentray serve [--port N]');
  const portText = flag(args, 'port');
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)) throw new UsageError('--port takes a port number (0-65535)');
  const [{ startBrokerRuntime }, { createLogger }, { resolveKeychainService }, { systemBrowser }] = await Promise.all([
    import('../../core/daemon/broker-runtime.ts'),
    import('../../core/log/logger.ts'),
    import('../../core/config.ts'),
    import('../../core/daemon/system-browser.ts'),
  ]);
  const { logger, redactor } = createLogger({ level: (process.env['TOKENTRAY_LOG_LEVEL'] as 'info' | undefined) ?? 'info' });
  const seconds = (name: string, fallback: number) => {
    const value = Number(process.env[name]);
    return Number.isFinite(value) && value > 0 ? value * 1000 : fallback;
  };
  const runtime = await startBrokerRuntime({
    home,
    keychainService: resolveKeychainService(),
    version,
    logger,
    redactor,
    browser: systemBrowser(),
    port: portText === undefined ? 0 : Number(portText),
    approvalTimeoutMs: seconds('TOKENTRAY_APPROVAL_TIMEOUT', 5 * 60_000),
    heartbeatMs: seconds('TOKENTRAY_HEARTBEAT', 15_000),
  });
  const vault = runtime.vault.status();
  if (!vault.persisted && vault.lastError) {
    process.stderr.write(`WARNING: the keychain (${vault.keychain}) is not available: tokens are kept in memory only and are lost when the broker stops. ${vault.lastError.message}\n`);
  }
  process.stdout.write(`listening on ${runtime.api.url}\n`);
  if (runtime.api.socketPath) process.stdout.write(`socket ${runtime.api.socketPath}\n`);
  return new Promise((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void runtime.stop().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
