import { ConfigError } from '../core/errors.js';

/**
 * Where things live inside a store (the same in every back end):
 *
 *   <name>/<version>/manifest.json     written last, create-only: its presence IS the version
 *   <name>/<version>/files/<path>      the model's files
 *   <name>/channels/<channel>.json     channel pointers, updated with conditional writes
 *
 * Files sit under `files/` so that no model file name can collide with the manifest.
 * All parts are validated by names.ts before they get here.
 */
export const layout = {
  manifest: (name: string, version: string) => `${name}/${version}/manifest.json`,
  file: (name: string, version: string, path: string) => `${name}/${version}/files/${path}`,
  versionPrefix: (name: string, version: string) => `${name}/${version}/`,
  modelPrefix: (name: string) => `${name}/`,
  channel: (name: string, channel: string) => `${name}/channels/${channel}.json`,
  channelsPrefix: (name: string) => `${name}/channels/`,
};

/** Parses `<name>/<version>/manifest.json` keys found by a listing. */
export function versionOfManifestKey(name: string, key: string): string | undefined {
  const match = /^([^/]+)\/manifest\.json$/.exec(key.slice(name.length + 1));
  return key.startsWith(`${name}/`) && match ? match[1] : undefined;
}

/** Parses `<name>/channels/<channel>.json` keys found by a listing. */
export function channelOfKey(name: string, key: string): string | undefined {
  const prefix = layout.channelsPrefix(name);
  if (!key.startsWith(prefix) || !key.endsWith('.json')) return undefined;
  const channel = key.slice(prefix.length, -'.json'.length);
  return channel.includes('/') ? undefined : channel;
}

/** The key prefix a store URL names after its bucket/container: `/`-joined, no `.`/`..`. */
export function storePrefix(segments: readonly string[]): string {
  const parts = segments.filter((s) => s !== '');
  if (parts.some((s) => s === '.' || s === '..'))
    throw new ConfigError(`store URL prefix must not contain '.' or '..' segments`);
  return parts.join('/');
}
