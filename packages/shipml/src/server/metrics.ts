/**
 * The service's Prometheus metrics (prom-client, on a registry of its own: two services in
 * one process do not share counters). Labels are app names, stages, outcomes and sources:
 * never a commit message, a ref a pusher chose, or anything else a webhook could fill.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome } from './execute.js';
import type { DeliveryResult, RunRecord, ServiceStore } from './store/types.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter;
  private readonly runSeconds: Histogram;
  private readonly stageSeconds: Histogram;
  private readonly deliveries: Counter;

  constructor(store: ServiceStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'shipml_process_' });
    new Gauge({
      name: 'shipml_queue_runs',
      help: 'Runs queued and running, per app',
      labelNames: ['app', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const d of await store.queueDepth()) {
          this.set({ app: d.app, state: 'queued' }, d.queued);
          this.set({ app: d.app, state: 'running' }, d.running);
        }
      },
    });
    this.runs = new Counter({
      name: 'shipml_runs_total',
      help: 'Runs finished by this process, by outcome',
      labelNames: ['app', 'kind', 'outcome'],
      registers,
    });
    this.runSeconds = new Histogram({
      name: 'shipml_run_duration_seconds',
      help: 'Duration of finished runs',
      labelNames: ['app', 'kind'],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'shipml_stage_duration_seconds',
      help: 'Duration of pipeline stages that ran',
      labelNames: ['stage', 'status'],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900],
      registers,
    });
    this.deliveries = new Counter({
      name: 'shipml_webhook_deliveries_total',
      help: 'Webhook deliveries received, by result',
      labelNames: ['app', 'source', 'result'],
      registers,
    });
  }

  finished(run: RunRecord, outcome: Outcome, seconds: number): void {
    this.runs.inc({ app: run.app, kind: run.kind, outcome: outcome.status });
    this.runSeconds.observe({ app: run.app, kind: run.kind }, seconds);
    for (const s of outcome.report?.stages ?? [])
      if (s.status !== 'skipped')
        this.stageSeconds.observe({ stage: s.name, status: s.status }, s.seconds);
  }

  delivery(app: string, source: string, result: DeliveryResult): void {
    this.deliveries.inc({ app, source, result });
  }
}
