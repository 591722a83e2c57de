import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { RegistryCopy, RegistryCopyTarget } from '../model-store/registry-copy.js';
import { RegistryClient } from '../oci/remote/client.js';
import { parseReference, type ImageReference } from '../oci/remote/reference.js';
import { registryAccessOf } from '../pipeline/assemble.js';
import type { CliContext } from './context.js';
import type { RegistryFlags } from './options.js';

/**
 * Where `shipml model publish` also pushes the model (`--registry`, else `model.registry`),
 * with shipml.yaml's registry access; undefined when neither names one. The app's own image
 * repository, when it is in the same registry, is offered as a mount source (a layer a
 * build pushed there moves no bytes).
 */
export function registryCopyTarget(
  ctx: CliContext,
  loaded: LoadedConfig,
  flags: RegistryFlags & { registry?: string | false },
): RegistryCopyTarget | undefined {
  if (flags.registry === false) return undefined;
  const repository = flags.registry ?? loaded.config.model?.registry;
  if (!repository) return undefined;
  const where = flags.registry ? '--registry' : 'model.registry in shipml.yaml';
  let target: ImageReference;
  try {
    target = parseReference(repository);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, {
      hint: 'name a repository, e.g. registry.example.com/models/digits',
    });
  }
  if (repository.includes('@') || repository.split('/').at(-1)!.includes(':'))
    throw new ConfigError(
      `${where}: ${repository} names a tag or digest; give the repository only`,
      {
        hint: 'the artifact is tagged with the model version',
      },
    );
  ctx.redactor.add(loaded.config.registry?.password);
  const access = registryAccessOf(
    {
      config: loaded.config,
      configFile: loaded.file ?? resolve(ctx.cwd, 'shipml.yaml'),
      env: ctx.env,
    },
    ctx.signal,
    { ...flags, cwd: ctx.cwd },
  );
  const image = loaded.config.image?.repository;
  const imageRef = image ? safeParse(image) : undefined;
  return {
    client: new RegistryClient(target.registry, access),
    target,
    mountFrom:
      imageRef && imageRef.registry === target.registry ? [imageRef.repository] : undefined,
  };
}

/** One line on what the publish did in the registry. */
export function registryCopyLine(copy: RegistryCopy): string {
  const how = copy.layer.streamed
    ? 'layer sent during the single read'
    : copy.layer.action === 'exists'
      ? 'layer already there'
      : copy.layer.action === 'mounted'
        ? 'layer mounted, no bytes sent'
        : `layer sent${copy.resent ? ` again (the single-read upload failed: ${copy.resent})` : ''}`;
  return `  registry ${copy.reference} (${how})`;
}

function safeParse(ref: string): ImageReference | undefined {
  try {
    return parseReference(ref);
  } catch {
    return undefined;
  }
}
