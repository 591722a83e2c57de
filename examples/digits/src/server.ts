import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Phase } from './app.js';
import { buildApp } from './app.js';
import { Batcher } from './batcher.js';
import type { Config } from './config.js';
import { Metrics } from './metrics.js';
import { DigitModel, INPUT_SIZE } from './model.js';
import { packageRoot, readPackageJson } from './package-root.js';
import { versionInfo } from './version.js';

/**
 * The service's life cycle: listen at once (so liveness answers), load the model, run a
 * warm-up inference, then report ready; on shutdown report not ready, optionally keep serving
 * for `shutdownDelayMs` (load balancers notice), stop accepting, let in-flight requests finish.
 */
export class DigitsServer {
  readonly metrics: Metrics;
  private app: FastifyInstance | undefined;
  private loaded: { model: DigitModel; batcher: Batcher } | undefined;
  private state: Phase = 'starting';
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.metrics = new Metrics(options);
  }

  get phase(): Phase {
    return this.state;
  }

  /** The address the server listens on, e.g. http://127.0.0.1:8080. */
  get url(): string {
    const address = this.app?.server.address();
    if (!address || typeof address === 'string') throw new Error('server is not listening');
    return `http://${address.address}:${address.port}`;
  }

  /** Starts listening, then loads the model; resolves when ready (rejects if loading failed). */
  async start(): Promise<void> {
    const root = packageRoot();
    const pkg = readPackageJson(root);
    const page = readFileSync(join(root, 'public', 'index.html'), 'utf8');
    const runtime = DigitModel.runtimeVersion();
    const version = () => versionInfo(this.config, pkg, this.loaded?.model, runtime);
    this.setBuildMetrics(version());
    this.app = await buildApp({
      config: this.config,
      logger: this.logger,
      metrics: this.metrics,
      page,
      phase: () => this.state,
      model: () => this.loaded,
      version,
    });
    await this.app.listen({ host: this.config.host, port: this.config.port });
    this.logger.info(
      { url: this.url, modelPath: this.config.modelPath },
      'listening; loading model',
    );
    try {
      const started = performance.now();
      const model = await DigitModel.load(this.config.modelPath, {
        intraOpThreads: this.config.intraOpThreads,
      });
      // Warm-up: the first run allocates onnxruntime's buffers; do it before taking traffic.
      await model.run(new Float32Array(INPUT_SIZE), 1);
      const batcher = new Batcher(
        model,
        this.config.maxRunBatch,
        this.config.limits.maxQueuedInputs,
        {
          onRun: (inputs, seconds) => this.metrics.observeRun(inputs, seconds),
        },
      );
      this.loaded = { model, batcher };
      const info = version();
      this.setBuildMetrics(info);
      if (this.state === 'starting') this.state = 'ready';
      this.logger.info(
        { model: info.model, onnxruntime: runtime, ms: Math.round(performance.now() - started) },
        'model loaded and warmed up; ready',
      );
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /**
   * Graceful shutdown: readiness goes false at once; after `shutdownDelayMs` the listener
   * closes, idle connections are closed, in-flight requests finish, the session is released.
   * Calling it twice returns the same promise.
   */
  shutdown(reason: string): Promise<void> {
    this.closing ??= this.doShutdown(reason);
    return this.closing;
  }

  private async doShutdown(reason: string): Promise<void> {
    this.state = 'draining';
    this.logger.info({ reason, delayMs: this.config.shutdownDelayMs }, 'shutting down: not ready');
    if (this.config.shutdownDelayMs > 0) {
      await new Promise((r) => setTimeout(r, this.config.shutdownDelayMs));
    }
    await this.app?.close();
    await this.loaded?.model.release();
    this.loaded = undefined;
    this.logger.info('stopped');
  }

  private setBuildMetrics(info: ReturnType<typeof versionInfo>): void {
    this.metrics.setBuild({
      appVersion: info.app.version,
      commit: info.app.commit ?? 'unknown',
      modelName: info.model.name ?? 'unknown',
      modelVersion: info.model.version ?? 'unknown',
      modelDigest: info.model.digest ?? 'unknown',
    });
  }
}
