import { OciImage, sortKeys } from './image.js';
import type { ConfigFile } from './schema.js';
import type { Image, Layer } from './types.js';

/**
 * Immutable edits of images (go-containerregistry's `mutate`): each returns a new image
 * and leaves its input untouched.
 */

/** Settings of the image config ShipML sets; undefined leaves a setting as it was. */
export interface ConfigPatch {
  /** Merged by variable name into the existing Env. */
  env?: Record<string, string>;
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  workdir?: string;
  user?: string;
  /** e.g. `8080/tcp`; merged. */
  exposedPorts?: string[];
  /** Merged into the existing labels. */
  labels?: Record<string, string>;
  /** Image creation time (ISO 8601); fixed for reproducible builds. */
  created?: string;
}

export interface AppendedLayer {
  layer: Layer;
  /** One line of history ("created_by"), shown by `docker history`. */
  createdBy: string;
}

export function appendLayers(image: Image, appended: readonly AppendedLayer[]): OciImage {
  const config = structuredClone(image.config);
  config.rootfs.diff_ids = [...config.rootfs.diff_ids, ...appended.map((a) => a.layer.diffId)];
  config.history = [
    ...(config.history ?? []),
    ...appended.map((a) => ({
      created: config.created,
      created_by: a.createdBy,
      comment: 'shipml',
    })),
  ];
  return OciImage.build(
    config,
    [...image.layers, ...appended.map((a) => a.layer)],
    image.manifest.annotations,
  );
}

export function withConfig(image: Image, patch: ConfigPatch): OciImage {
  const config: ConfigFile = structuredClone(image.config);
  const c = { ...(config.config ?? {}) };
  if (patch.env) c.Env = mergeEnv(c.Env ?? [], patch.env);
  if (patch.entrypoint !== undefined) c.Entrypoint = patch.entrypoint;
  if (patch.cmd !== undefined) c.Cmd = patch.cmd;
  if (patch.workdir !== undefined) c.WorkingDir = patch.workdir;
  if (patch.user !== undefined) c.User = patch.user;
  if (patch.exposedPorts) {
    c.ExposedPorts = {
      ...(c.ExposedPorts ?? {}),
      ...Object.fromEntries(patch.exposedPorts.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])),
    };
  }
  if (patch.labels) c.Labels = sortKeys({ ...(c.Labels ?? {}), ...patch.labels });
  config.config = c;
  if (patch.created !== undefined) config.created = patch.created;
  return OciImage.build(config, image.layers, image.manifest.annotations);
}

export function withAnnotations(image: Image, annotations: Record<string, string>): OciImage {
  return OciImage.build(structuredClone(image.config), image.layers, {
    ...(image.manifest.annotations ?? {}),
    ...annotations,
  });
}

function mergeEnv(existing: string[], updates: Record<string, string>): string[] {
  const map = new Map(
    existing.map((line) => [
      line.slice(0, line.indexOf('=') < 0 ? line.length : line.indexOf('=')),
      line,
    ]),
  );
  for (const [name, value] of Object.entries(updates)) map.set(name, `${name}=${value}`);
  return [...map.values()];
}
