import { ConfigError } from '../core/errors.js';

/**
 * The grammar of model names, versions, channels and file paths. Every one of them ends
 * up in an object key or a local path, so anything outside this grammar is refused
 * before it reaches a store: no `..`, no absolute paths, no separators in names.
 *
 * - name:    lowercase letters and digits, separated by single `.`, `_` or `-`;
 *            at most 128 characters (like an OCI repository path component). `digits`, `resnet-50`
 * - version: a letter or digit, then letters, digits, `.`, `_`, `+`, `-`; at most 128;
 *            not `channels` (reserved). `1`, `1.2.0`, `2026-11-22.1`, `1.0.0+build.7`
 * - channel: a lowercase letter, then lowercase letters, digits and `-`; at most 63. `latest`
 * - file path (inside a model): `/`-separated segments of printable characters other
 *   than `\`; no empty, `.` or `..` segment; at most 1024 characters.
 */
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const CHANNEL = /^[a-z][a-z0-9-]*$/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_PATH_CHARS = /[\u0000-\u001f\u007f\\]/;

export function validateName(name: string): string {
  if (name.length > 128 || !NAME.test(name)) {
    throw new ConfigError(
      `invalid model name ${JSON.stringify(name)}: expected lowercase letters and digits separated by single '.', '_' or '-' (at most 128 characters)`,
    );
  }
  return name;
}

export function validateVersion(version: string): string {
  if (version.length > 128 || !VERSION.test(version) || version === 'channels') {
    throw new ConfigError(
      `invalid model version ${JSON.stringify(version)}: expected a letter or digit followed by letters, digits, '.', '_', '+' or '-' (at most 128 characters; 'channels' is reserved)`,
    );
  }
  return version;
}

export function validateChannel(channel: string): string {
  if (channel.length > 63 || !CHANNEL.test(channel)) {
    throw new ConfigError(
      `invalid channel ${JSON.stringify(channel)}: expected a lowercase letter followed by lowercase letters, digits or '-' (at most 63 characters)`,
    );
  }
  return channel;
}

export function validateFilePath(path: string): string {
  const segments = path.split('/');
  const bad =
    path.length === 0 ||
    path.length > 1024 ||
    FORBIDDEN_PATH_CHARS.test(path) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw new ConfigError(
      `invalid model file path ${JSON.stringify(path)}: expected a relative '/'-separated path without empty, '.' or '..' segments, backslashes or control characters`,
    );
  }
  return path;
}

/** A reference to one model version: `name@version`, `name:channel`, or `name` (= `name:latest`). */
export type ModelRef =
  | { name: string; version: string; channel?: undefined }
  | { name: string; channel: string; version?: undefined };

export const DEFAULT_CHANNEL = 'latest';

export function parseModelRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  if (at >= 0) {
    return { name: validateName(ref.slice(0, at)), version: validateVersion(ref.slice(at + 1)) };
  }
  const colon = ref.indexOf(':');
  if (colon >= 0) {
    const name = validateName(ref.slice(0, colon));
    return { name, channel: channelOfRef(name, ref.slice(colon + 1)) };
  }
  return { name: validateName(ref), channel: DEFAULT_CHANNEL };
}

/**
 * The channel part of `name:channel`. A part that is no channel but reads as a version
 * (`digits:1.4.0`, the image-tag habit) gets a hint pointing at `name@version`.
 */
function channelOfRef(name: string, part: string): string {
  try {
    return validateChannel(part);
  } catch (err) {
    const readsAsVersion =
      /^[0-9]/.test(part) || (part.length <= 128 && VERSION.test(part) && part !== 'channels');
    if (!readsAsVersion || !(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.message, {
      hint: `a version is written with '@': ${name}@${part} (name:channel names a channel, e.g. ${name}:${DEFAULT_CHANNEL})`,
    });
  }
}

export function formatModelRef(ref: ModelRef): string {
  return ref.version !== undefined ? `${ref.name}@${ref.version}` : `${ref.name}:${ref.channel}`;
}
