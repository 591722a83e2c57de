/**
 * The one shape of every pluggable kind (model stores, deploy targets, image builders, CI
 * systems, triggers): a back end is a descriptor, and a kind's registry is the list of its
 * descriptors. Everything users see about a kind — config schema unions, CLI choices, help,
 * the "expected one of ..." of an error — is derived from the registry, never spelled out.
 *
 * A descriptor never imports its back end's SDK: it holds the options schema (the back end's
 * own schema.ts) and a lazy `open`, so importing a registry costs nothing.
 */
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** What every back end of every kind declares about itself. */
export interface Descriptor {
  /** The id users write (`s3`, `kubernetes`, `dockerfile`, `github`): a lowercase word. */
  readonly id: string;
  /** One line for help texts. */
  readonly summary: string;
  /** Its options, validated at the boundary (the back end's schema.ts; no SDK). */
  readonly optionsSchema: z.ZodType;
  /** Option keys whose values are secrets: redacted, never logged or stored. */
  readonly secretOptions: readonly string[];
  /** Environment variables it may take secrets from (all of them: redacted wherever seen). */
  readonly secretEnv: readonly string[];
  /**
   * What a CI job must provide for it, as environment variables (a subset of secretEnv, or
   * non-secret ones such as KUBECONFIG): `shipml init` maps these from the CI's secret store.
   */
  readonly ciEnv: readonly string[];
  /** A short configuration example (shipml.yaml or a URL). */
  readonly example: string;
}

/** The back ends of one kind. */
export interface Registry<D extends Descriptor> {
  /** The kind, as users read it: "model store", "deploy target", ... */
  readonly kind: string;
  /** Every back end, in the order help lists them; the first is the default where one applies. */
  readonly all: readonly D[];
  /** Their ids. */
  readonly ids: readonly [D['id'], ...D['id'][]];
  /** Whether `id` names a back end. */
  has(id: string): id is D['id'];
  /**
   * The back end `id` names. An unknown id is a ConfigError naming the valid ones;
   * `where` says where the id came from (`--target`, `shipml.yaml: deploy.target`).
   */
  get<I extends D['id']>(id: I | string, where?: string): Extract<D, { id: I }>;
  /** `docker | kubernetes`, for help texts. */
  readonly choices: string;
}

/** Makes a kind's registry from its descriptors (at least one; ids unique). */
export function defineRegistry<const T extends readonly [Descriptor, ...Descriptor[]]>(
  kind: string,
  descriptors: T,
): Registry<T[number]> {
  type D = T[number];
  const byId = new Map<string, D>();
  for (const d of descriptors) {
    if (byId.has(d.id)) throw new Error(`${kind} registry: duplicate id ${d.id}`);
    byId.set(d.id, d);
  }
  const ids = descriptors.map((d) => d.id) as unknown as readonly [D['id'], ...D['id'][]];
  const choices = ids.join(' | ');
  return {
    kind,
    all: descriptors,
    ids,
    choices,
    has: (id: string): id is D['id'] => byId.has(id),
    get<I extends D['id']>(id: I | string, where?: string): Extract<D, { id: I }> {
      const found = byId.get(id);
      if (found) return found as Extract<D, { id: I }>;
      throw new ConfigError(
        `${where ? `${where}: ` : ''}unknown ${kind} ${JSON.stringify(id)}: expected one of ${ids.join(', ')}`,
      );
    },
  };
}

/** Every secret option key and environment variable the registries' back ends declare. */
export function secretsOf(registries: ReadonlyArray<Registry<Descriptor>>): {
  options: Set<string>;
  env: Set<string>;
} {
  const options = new Set<string>();
  const env = new Set<string>();
  for (const registry of registries)
    for (const d of registry.all) {
      d.secretOptions.forEach((k) => options.add(k));
      d.secretEnv.forEach((k) => env.add(k));
    }
  return { options, env };
}
