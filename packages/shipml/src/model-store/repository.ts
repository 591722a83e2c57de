import { pipeline as streamPipeline, type Readable } from 'node:stream';
import { IntegrityError, NotFoundError } from '../core/errors.js';
import { VerifyingStream } from '../core/hash.js';
import type { ProgressReporter } from '../core/progress.js';
import type { RetryPolicy } from '../core/retry.js';
import type { BlobCache } from './cache.js';
import {
  moveChannel,
  readChannel,
  readChannelIfChanged,
  type ChannelChange,
  type ChannelPointer,
} from './channels.js';
import { channelOfKey, layout, versionOfManifestKey } from './layout.js';
import { decodeManifest, type Manifest } from './manifest.js';
import {
  formatModelRef,
  parseModelRef,
  validateChannel,
  validateName,
  validateVersion,
  type ModelRef,
} from './names.js';
import { publishModel, type PublishInput } from './publish.js';
import type { RegistryCopy } from './registry-copy.js';
import { pullModel, type PullResult } from './pull.js';
import type { ModelStore } from './types.js';

export interface ModelRepositoryOptions {
  store: ModelStore;
  /** Local content-addressed cache; undefined disables it. */
  cache?: BlobCache | undefined;
  progress?: ProgressReporter | undefined;
  retry?: RetryPolicy | undefined;
  /** The clock (injectable for tests). */
  now?: () => Date;
  /**
   * The command a hint suggests for listing `name`'s versions. The CLI adds the flags that
   * selected this store (`--store`, `-c`), so the hint, run as written, lists this store.
   * Default: `shipml model list <name>`.
   */
  listCommand?: ((name: string) => string) | undefined;
}

/** The models found in a store location (see ModelRepository.models). */
export interface StoreModels {
  /** Model names with at least one published version, sorted. */
  names: string[];
  /** False when the listing stopped at its key limit: there may be more. */
  complete: boolean;
  /** No object at all under the store's location (a mistyped prefix looks like this). */
  empty: boolean;
}

export interface VersionSummary {
  manifest: Manifest;
  /** Channels that point at this version now. */
  channels: string[];
}

export interface PromoteResult {
  pointer: ChannelPointer;
  /** What the channel pointed at before, if it existed. */
  previous: ChannelPointer | undefined;
}

/**
 * The model repository: publish, list, show, pull and promote model versions on any
 * ModelStore. This is the one place that knows the layout (layout.ts), so every back end
 * stores models the same way.
 */
export class ModelRepository {
  readonly store: ModelStore;
  private readonly options: ModelRepositoryOptions;
  private readonly now: () => Date;

  constructor(options: ModelRepositoryOptions) {
    this.options = options;
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
  }

  /** The same repository, with hints that suggest `listCommand` (see the option). */
  withListCommand(listCommand: (name: string) => string): ModelRepository {
    return new ModelRepository({ ...this.options, listCommand });
  }

  /** Publishes a new, immutable version and then moves `channels` (if any) to it. */
  async publish(input: PublishInput & { channels?: readonly string[] }): Promise<{
    manifest: Manifest;
    channels: PromoteResult[];
    registry?: RegistryCopy | undefined;
  }> {
    const channels = (input.channels ?? []).map(validateChannel);
    const { manifest, registry } = await publishModel({ ...this.options, now: this.now }, input);
    const moved: PromoteResult[] = [];
    for (const channel of channels) {
      moved.push(
        await moveChannel(
          this.store,
          {
            name: manifest.name,
            channel,
            version: manifest.version,
            digest: manifest.digest,
            now: this.now,
          },
          input.signal,
        ),
      );
    }
    return { manifest, channels: moved, registry };
  }

  /** The manifest of `name@version`; NotFoundError if that version was never published. */
  async getManifest(name: string, version: string, signal?: AbortSignal): Promise<Manifest> {
    validateName(name);
    validateVersion(version);
    const key = layout.manifest(name, version);
    const stored = await this.store.readSmall(key, { signal });
    if (!stored) {
      throw new NotFoundError(`model ${name}@${version} not found in ${this.store.displayUrl}`, {
        hint: `list the published versions with: ${this.options.listCommand?.(name) ?? `shipml model list ${name}`}`,
      });
    }
    return decodeManifest(stored.bytes, `${this.store.displayUrl}/${key}`, { name, version });
  }

  /** Resolves `name@version`, `name:channel` or `name` to a manifest. */
  async resolve(ref: string | ModelRef, signal?: AbortSignal): Promise<Manifest> {
    const parsed = typeof ref === 'string' ? parseModelRef(ref) : ref;
    if (parsed.version !== undefined) return this.getManifest(parsed.name, parsed.version, signal);
    const channel = await readChannel(this.store, parsed.name, parsed.channel, signal);
    if (!channel) {
      throw new NotFoundError(
        `channel ${formatModelRef(parsed)} not found in ${this.store.displayUrl}`,
        {
          hint: `publish with --channel ${parsed.channel}, or: shipml model promote ${parsed.name}@<version> ${parsed.channel}`,
        },
      );
    }
    const manifest = await this.getManifest(parsed.name, channel.pointer.version, signal);
    if (manifest.digest !== channel.pointer.digest) {
      throw new NotFoundError(
        `channel ${formatModelRef(parsed)} points at ${channel.pointer.version} with digest ${channel.pointer.digest}, but that version's digest is ${manifest.digest}`,
      );
    }
    return manifest;
  }

  /** All published versions of `name`, oldest first, with the channels pointing at each. */
  async list(name: string, signal?: AbortSignal): Promise<VersionSummary[]> {
    validateName(name);
    const versions: string[] = [];
    const channelNames: string[] = [];
    for await (const object of this.store.list(layout.modelPrefix(name), { signal })) {
      const version = versionOfManifestKey(name, object.key);
      if (version !== undefined) versions.push(version);
      const channel = channelOfKey(name, object.key);
      if (channel !== undefined) channelNames.push(channel);
    }
    const manifests = await mapLimit(versions, 8, (v) => this.getManifest(name, v, signal));
    const pointers = await mapLimit(channelNames, 8, (c) =>
      readChannel(this.store, name, c, signal),
    );
    return manifests
      .sort((a, b) => a.created.localeCompare(b.created) || a.version.localeCompare(b.version))
      .map((manifest) => ({
        manifest,
        channels: pointers
          .filter((p) => p?.pointer.version === manifest.version)
          .map((p) => p!.pointer.channel)
          .sort(),
      }));
  }

  /**
   * Which models the store location holds, reading at most `maxKeys` keys (the listing is
   * recursive, so a large store is sampled, not walked): for telling "this model has no
   * versions" from "nothing was ever published here".
   */
  async models(options: { signal?: AbortSignal; maxKeys?: number } = {}): Promise<StoreModels> {
    const maxKeys = options.maxKeys ?? 10_000;
    const names = new Set<string>();
    let seen = 0;
    for await (const object of this.store.list('', { signal: options.signal })) {
      if (++seen > maxKeys) return { names: [...names].sort(), complete: false, empty: false };
      const name = object.key.split('/', 1)[0]!;
      if (versionOfManifestKey(name, object.key) !== undefined) names.add(name);
    }
    return { names: [...names].sort(), complete: true, empty: seen === 0 };
  }

  /** The channels of `name` and where they point. */
  async channels(name: string, signal?: AbortSignal): Promise<ChannelPointer[]> {
    validateName(name);
    const found: ChannelPointer[] = [];
    for await (const object of this.store.list(layout.channelsPrefix(name), { signal })) {
      const channel = channelOfKey(name, object.key);
      if (channel === undefined) continue;
      const pointer = await readChannel(this.store, name, channel, signal);
      if (pointer) found.push(pointer.pointer);
    }
    return found.sort((a, b) => a.channel.localeCompare(b.channel));
  }

  /**
   * The pointer of `name:channel` if it changed since `etag` (a conditional read; undefined
   * reads it anyway): `unchanged`, `absent`, or the pointer with its new ETag. What the
   * server's model-channel watch polls.
   */
  async readChannelIfChanged(
    name: string,
    channel: string,
    etag: string | undefined,
    signal?: AbortSignal,
  ): Promise<ChannelChange> {
    validateName(name);
    validateChannel(channel);
    return readChannelIfChanged(this.store, name, channel, etag, signal);
  }

  /** Points `channel` at `name@version` (which must exist). */
  async promote(
    name: string,
    version: string,
    channel: string,
    signal?: AbortSignal,
  ): Promise<PromoteResult> {
    validateChannel(channel);
    const manifest = await this.getManifest(name, version, signal);
    return moveChannel(
      this.store,
      { name, channel, version, digest: manifest.digest, now: this.now },
      signal,
    );
  }

  /**
   * One file of a version as a stream, checked as it flows: the stream fails at its end if
   * the bytes are not the manifest's (size and sha256). For consumers that never write the
   * model to disk (a model layer streamed straight into a registry).
   */
  async openFile(manifest: Manifest, path: string, signal?: AbortSignal): Promise<Readable> {
    const file = manifest.files.find((f) => f.path === path);
    if (!file)
      throw new NotFoundError(`model ${manifest.name}@${manifest.version} has no file ${path}`);
    const { body } = await this.store.download(layout.file(manifest.name, manifest.version, path), {
      signal,
    });
    const where = `${manifest.name}@${manifest.version} file ${path} (${this.store.displayUrl})`;
    const check = new VerifyingStream(
      file,
      (actual) =>
        new IntegrityError(
          `${where}: got ${actual.size} bytes with sha256 ${actual.sha256}, the manifest says ${file.size} bytes with ${file.sha256}`,
        ),
    );
    return streamPipeline(body, check, () => undefined);
  }

  /** Resolves `ref` and pulls its files into `dest`, verified (see pull.ts). */
  async pull(ref: string | ModelRef, dest: string, signal?: AbortSignal): Promise<PullResult> {
    const manifest = await this.resolve(ref, signal);
    return pullModel(this.options, manifest, dest, signal);
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
