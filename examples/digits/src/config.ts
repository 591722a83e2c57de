import { z } from 'zod';

/**
 * Everything the server reads from its environment, validated once at start-up.
 * The names are documented in README.md; ShipML's build and deploy set the MODEL_* and
 * APP_* ones so that /version can say which code and which model are running.
 */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) =>
  z.coerce.number().int().nonnegative().default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const EnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MODEL_PATH: z.string().min(1).default('model'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BATCH: positiveInt(256),
  BODY_LIMIT_BYTES: positiveInt(4 * 1024 * 1024),
  MAX_IMAGE_BYTES: positiveInt(1024 * 1024),
  MAX_IMAGE_SIDE: positiveInt(1024),
  MAX_QUEUED_INPUTS: positiveInt(8192),
  MAX_RUN_BATCH: positiveInt(512),
  ORT_INTRA_OP_THREADS: positiveInt(1),
  WEB_CONCURRENCY: positiveInt(1),
  SHUTDOWN_DELAY_MS: nonNegativeInt(0),
  SHUTDOWN_TIMEOUT_MS: positiveInt(15000),
  APP_VERSION: optionalString,
  SHIPML_APP_VERSION: optionalString,
  APP_COMMIT: optionalString,
  SHIPML_COMMIT: optionalString,
  MODEL_NAME: optionalString,
  SHIPML_MODEL_NAME: optionalString,
  MODEL_VERSION: optionalString,
  SHIPML_MODEL_VERSION: optionalString,
  MODEL_DIGEST: optionalString,
  SHIPML_MODEL_DIGEST: optionalString,
  SHIPML_IMAGE: optionalString,
  SHIPML_RUN_ID: optionalString,
});

export interface Config {
  host: string;
  port: number;
  modelPath: string;
  logLevel: string;
  limits: {
    /** Inputs (vectors or images) one request may carry. */
    maxBatch: number;
    /** Bytes of one request body (JSON or multipart). */
    bodyLimit: number;
    /** Bytes of one PNG. */
    maxImageBytes: number;
    /** Pixels of the longer side of one PNG (checked before decoding). */
    maxImageSide: number;
    /** Inputs waiting for inference; beyond it requests get 503 instead of piling up. */
    maxQueuedInputs: number;
  };
  /** Most inputs one session.run may carry when concurrent requests are coalesced. */
  maxRunBatch: number;
  intraOpThreads: number;
  /** Worker processes sharing the port (node:cluster); 1 = no cluster. */
  workers: number;
  shutdownDelayMs: number;
  shutdownTimeoutMs: number;
  /** What /version reports; values not set are reported as null (or computed, for the digest). */
  build: {
    appVersion: string | undefined;
    commit: string | undefined;
    modelName: string | undefined;
    modelVersion: string | undefined;
    modelDigest: string | undefined;
    image: string | undefined;
    runId: string | undefined;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the configuration from `env`; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${issues.join('; ')}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    modelPath: e.MODEL_PATH,
    logLevel: e.LOG_LEVEL,
    limits: {
      maxBatch: e.MAX_BATCH,
      bodyLimit: e.BODY_LIMIT_BYTES,
      maxImageBytes: e.MAX_IMAGE_BYTES,
      maxImageSide: e.MAX_IMAGE_SIDE,
      maxQueuedInputs: e.MAX_QUEUED_INPUTS,
    },
    maxRunBatch: e.MAX_RUN_BATCH,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    workers: e.WEB_CONCURRENCY,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    build: {
      appVersion: e.APP_VERSION ?? e.SHIPML_APP_VERSION,
      commit: e.APP_COMMIT ?? e.SHIPML_COMMIT,
      modelName: e.MODEL_NAME ?? e.SHIPML_MODEL_NAME,
      modelVersion: e.MODEL_VERSION ?? e.SHIPML_MODEL_VERSION,
      modelDigest: e.MODEL_DIGEST ?? e.SHIPML_MODEL_DIGEST,
      image: e.SHIPML_IMAGE,
      runId: e.SHIPML_RUN_ID,
    },
  };
}
