/**
 * `shipml/pipeline`: a run from commit and model to what serves — resolve, fetch the model,
 * prepare, test, evaluate, gate, build, push, deploy, verify, record — and its reports.
 */
export {
  runPipeline,
  releasePipeline,
  RunFailedError,
  type BuildRunOptions,
  type PipelineOptions,
} from './run.js';
export { RunStore, inputsKey, type RunHistory } from './runs.js';
export { evaluateGate, parseMetrics, type GateVerdict, type Metrics } from './gate.js';
export * from './types.js';
