import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Labels that say which code and which model a replica runs. */
export interface BuildLabels {
  appVersion: string;
  commit: string;
  modelName: string;
  modelVersion: string;
  modelDigest: string;
}

/**
 * The server's Prometheus metrics, in their own registry (no global state, so tests can run
 * two servers in one process). Served at GET /metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly inferenceDuration: Histogram<'model_version'>;
  readonly inferenceBatch: Histogram<'model_version'>;
  readonly predictions: Counter<'model_version' | 'label'>;
  readonly inFlight: Gauge;
  readonly queueDepth: Gauge;
  readonly ready: Gauge;
  private readonly modelInfo: Gauge<keyof BuildLabelsSnake>;
  private modelVersion = 'unknown';

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'digits_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'digits_http_request_duration_seconds',
      help: 'HTTP request latency, from the first byte read to the response sent',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: 'digits_inference_duration_seconds',
      help: 'Duration of one onnxruntime session.run (one batch)',
      labelNames: ['model_version'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.inferenceBatch = new Histogram({
      name: 'digits_inference_batch_size',
      help: 'Inputs scored per session.run (requests are coalesced under load)',
      labelNames: ['model_version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this.predictions = new Counter({
      name: 'digits_predictions_total',
      help: 'Inputs classified, by predicted label',
      labelNames: ['model_version', 'label'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'digits_http_requests_in_flight',
      help: 'Requests being processed',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'digits_inference_queue_inputs',
      help: 'Inputs waiting for inference',
      registers,
    });
    this.ready = new Gauge({
      name: 'digits_ready',
      help: '1 when the model is loaded and warmed up and the server is not shutting down',
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'digits_build_info',
      help: 'Always 1; the labels say which app build and which model this replica runs',
      labelNames: ['app_version', 'commit', 'model_name', 'model_version', 'model_digest'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Records which build and model are running (the model version also labels inference metrics). */
  setBuild(labels: BuildLabels): void {
    this.modelVersion = labels.modelVersion;
    this.modelInfo.reset();
    this.modelInfo.set(
      {
        app_version: labels.appVersion,
        commit: labels.commit,
        model_name: labels.modelName,
        model_version: labels.modelVersion,
        model_digest: labels.modelDigest,
      },
      1,
    );
  }

  observeRun(inputs: number, seconds: number): void {
    this.inferenceDuration.observe({ model_version: this.modelVersion }, seconds);
    this.inferenceBatch.observe({ model_version: this.modelVersion }, inputs);
  }

  countPrediction(label: string): void {
    this.predictions.inc({ model_version: this.modelVersion, label });
  }
}

interface BuildLabelsSnake {
  app_version: string;
  commit: string;
  model_name: string;
  model_version: string;
  model_digest: string;
}
