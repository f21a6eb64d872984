// `hookroute start`: load the config, run the daemon until SIGTERM/SIGINT, reload pipelines and the TLS certificate on SIGHUP.
import { ConfigError, loadConfig } from '../config/load.ts';
import { formatProblem } from '../schema-kit/yaml-source.ts';
import { createLogger } from '../log.ts';
import { startDaemon } from '../daemon.ts';

export async function runStart(opts: { config?: string }): Promise<number> {
  let config;
  try {
    config = await loadConfig({ file: opts.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
      return 1;
    }
    process.stderr.write(`hookroute: ${(err as Error).message}\n`);
    return 1;
  }
  const logger = createLogger(config.log);
  logger.info({ config: config.file ?? '(built-in defaults)', node: process.version }, 'starting hookroute');

  process.on('unhandledRejection', (reason) =>
    logger.error({ err: reason }, 'unhandled promise rejection (bug): please report it'),
  );

  let daemon;
  try {
    daemon = await startDaemon(config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'hookroute could not start');
    logger.flush();
    process.stderr.write(`hookroute: ${(err as Error).message}\n`);
    return 1;
  }
  const d = daemon;
  let signals = 0;
  const onStop = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now (the journal keeps what was accepted)');
      logger.flush();
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    void d.stop();
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => {
    void d.reload('SIGHUP');
    void d.reloadTls('SIGHUP');
  });
  await d.stopped;
  logger.flush();
  // Everything is closed; if a stray handle (a plugin's timer, say) would keep the process alive, do not hang on it.
  setTimeout(() => process.exit(process.exitCode ?? 0), 1500).unref();
  return 0;
}
