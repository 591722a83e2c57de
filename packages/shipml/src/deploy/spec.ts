/**
 * shipml.yaml's `deploy` section → the target-neutral DeploySpec, and the app's name.
 */
import { basename, dirname } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { ConfigSchema } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_SPEC, type DeploySpec } from './types.js';

export type DeployConfig = NonNullable<ShipmlConfig['deploy']>;

/** The deploy section with every default applied (an absent section means all defaults). */
export function deployConfig(config: ShipmlConfig): DeployConfig {
  return config.deploy ?? ConfigSchema.shape.deploy.unwrap().parse({});
}

/**
 * The app's name: deploy.app, else the model's name, else the project directory's name —
 * always a DNS label, since it names containers, Deployments and Services.
 */
export function appName(config: ShipmlConfig, configFile: string | undefined, cwd: string): string {
  const explicit = config.deploy?.app;
  if (explicit) return explicit;
  const fallback = config.model?.name ?? basename(configFile ? dirname(configFile) : cwd);
  const label = fallback
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 40);
  if (!label)
    throw new ConfigError(`cannot derive an app name from "${fallback}"`, {
      hint: 'set deploy.app in shipml.yaml (a DNS label: a-z, 0-9, -)',
    });
  return label;
}

export function deploySpec(deploy: DeployConfig, app: string): DeploySpec {
  return {
    ...DEFAULT_SPEC,
    app,
    replicas: deploy.replicas,
    port: deploy.port,
    readinessPath: deploy.readinessPath,
    livenessPath: deploy.livenessPath,
    env: deploy.env,
    progressDeadlineSeconds: deploy.progressDeadlineSeconds,
    drainSeconds: deploy.drainSeconds,
    historyLimit: deploy.historyLimit,
  };
}
