/**
 * Entry point: `npm start` (or `node dist/src/main.js`). Configuration comes from the
 * environment (see README.md); logs are JSON lines on stdout (pino).
 *
 * With WEB_CONCURRENCY=N > 1 a primary process forks N workers that share the port
 * (node:cluster); each loads its own copy of the model. SIGTERM to the primary drains every
 * worker; if a worker dies unexpectedly the primary stops the others and exits non-zero, so the
 * orchestrator restarts the whole replica.
 */
import cluster from 'node:cluster';
import { pino } from 'pino';
import type { Config } from './config.js';
import { ConfigError, loadConfig } from './config.js';
import { DigitsServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`digits: ${err.message}\n`);
  process.exit(2);
}

const logger = pino({ level: config.logLevel, base: { app: 'digits', pid: process.pid } });

if (config.workers > 1 && cluster.isPrimary) {
  runPrimary(config);
} else {
  await runServer(config);
}

function runPrimary(config: Config): void {
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  logger.info({ workers: config.workers }, 'started workers');
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    setTimeout(
      () => process.exit(1),
      config.shutdownDelayMs + config.shutdownTimeoutMs + 1000,
    ).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let failed = false;
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping || code !== 0) {
      failed ||= code !== 0 || !stopping;
      logger.error({ pid: worker.process.pid, code, signal }, 'worker exited');
      stop('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  });
}

async function runServer(config: Config): Promise<void> {
  const server = new DigitsServer(config, logger);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    // A hard deadline, so a stuck request cannot hold a rollout forever.
    setTimeout(() => {
      logger.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'in-flight requests did not finish in time; exiting',
      );
      process.exit(1);
    }, config.shutdownDelayMs + config.shutdownTimeoutMs).unref();
    server.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A worker whose primary died (its IPC channel closed) must not live on holding the port.
  if (cluster.isWorker) process.on('disconnect', () => onSignal('SIGTERM'));
  try {
    await server.start();
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await server.shutdown('start-up failed').catch(() => undefined);
    process.exit(1);
  }
}
