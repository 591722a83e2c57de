/**
 * The benchmark's settings, read once from the environment run.sh sets:
 *
 *   BENCH_WORK          work directory; rows.json (and kubectl's manifests) go there
 *   BENCH_V1, BENCH_V2, BENCH_NEVER_READY   image references (registry/repo@sha256:...)
 *   BENCH_PROXY_IMAGE   HAProxy image of the Docker target
 *   BENCH_PREFIX        prefix of every app and container name (a DNS label)
 *   BENCH_DOCKER        docker client
 *   BENCH_KUBERNETES    1 to run the Kubernetes scenarios; then KUBECONFIG, BENCH_KUBECTL,
 *                       BENCH_NAMESPACE (exists), BENCH_NEVER_READY_LABEL (key=value)
 *   BENCH_RATE, BENCH_DEADLINE, BENCH_DOCKER_REPLICAS, BENCH_KUBE_REPLICAS
 */

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run bench/rollout/run.sh)`);
  return value;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

export interface Settings {
  work: string;
  prefix: string;
  docker: string;
  proxyImage: string;
  /** Requests per second of the load. */
  rate: number;
  /** progressDeadlineSeconds of every release. */
  deadline: number;
  dockerReplicas: number;
  kubeReplicas: number;
  kubernetes: boolean;
  /** Load bounds per scenario: whichever comes first. */
  loadMaxSeconds: number;
  loadMaxRequests: number;
  /** Load before and after the measured step: steady state on both sides of the switch. */
  preMs: number;
  postMs: number;
  /** No single deploy, rollback, command or readiness wait may take longer than this. */
  stepSeconds: number;
}

export function readSettings(): Settings {
  const rate = int('BENCH_RATE', 50);
  const deadline = int('BENCH_DEADLINE', 15);
  const loadMaxSeconds = 60;
  return {
    work: env('BENCH_WORK'),
    prefix: env('BENCH_PREFIX'),
    docker: env('BENCH_DOCKER'),
    proxyImage: env('BENCH_PROXY_IMAGE'),
    rate,
    deadline,
    dockerReplicas: int('BENCH_DOCKER_REPLICAS', 2),
    kubeReplicas: int('BENCH_KUBE_REPLICAS', 3),
    kubernetes: process.env.BENCH_KUBERNETES === '1',
    loadMaxSeconds,
    loadMaxRequests: loadMaxSeconds * rate,
    preMs: 2000,
    postMs: 2000,
    stepSeconds: deadline * 3 + 60,
  };
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
