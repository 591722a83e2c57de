/**
 * Opens the deploy target shipml.yaml (and flags) select, through the registry: the
 * target's `deploy.<id>` section with flag overrides on top, validated by its own schema.
 * Each target's module — and its client library — is loaded only when that target is used.
 */
import type { z } from 'zod';
import type { ShipmlConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { findCredentials } from '../oci/remote/credentials.js';
import { deployTargets } from './registry.js';
import type { DeployConfig } from './spec.js';
import type { DeployTarget, PullCredentials, TargetDescriptor } from './types.js';

export interface TargetSelection {
  /** The target's id (from --target or deploy.target); unknown ids are a ConfigError. */
  kind: string;
  /** Where the id came from, for the error (`--target`, `shipml.yaml: deploy.target`). */
  where?: string | undefined;
  deploy: DeployConfig;
  /** Flag values by option name, overriding the target's `deploy.<id>` section. */
  overrides?: Record<string, unknown> | undefined;
  /** The registry host of the image to deploy, for pull credentials. */
  registry?: string | undefined;
  registryConfig?: ShipmlConfig['registry'];
}

export async function openTarget(
  selection: TargetSelection,
  env: NodeJS.ProcessEnv,
): Promise<DeployTarget> {
  const descriptor: TargetDescriptor = deployTargets.get(selection.kind, selection.where);
  const section = (selection.deploy as Record<string, unknown>)[descriptor.id] ?? {};
  const overrides = Object.fromEntries(
    Object.entries(selection.overrides ?? {}).filter(([, v]) => v !== undefined),
  );
  const options = parseSection(
    descriptor.optionsSchema,
    { ...section, ...overrides },
    descriptor.id,
  );
  return descriptor.open(options, { env, pull: await pullCredentials(selection, env) });
}

async function pullCredentials(
  selection: TargetSelection,
  env: NodeJS.ProcessEnv,
): Promise<PullCredentials | undefined> {
  if (!selection.registry) return undefined;
  const credential = await findCredentials(selection.registry, {
    env,
    explicit: selection.registryConfig,
  });
  return credential?.username && credential.password
    ? { registry: selection.registry, username: credential.username, password: credential.password }
    : undefined;
}

function parseSection<S extends z.ZodType>(schema: S, value: unknown, id: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => `deploy.${[id, ...i.path].join('.')}: ${i.message}`).join('; '),
  );
}
