import type { BlobDir } from './blobs.js';
import { OciImage } from './image.js';
import { buildLayer } from './layer.js';
import { FIXED_LAYER_TIME } from './model-layer.js';
import { appendLayers, withConfig } from './mutate.js';
import { collectEntries } from './tar.js';
import type { Layer } from './types.js';

export interface RootfsImportOptions {
  /** Where the layer is built. */
  blobs: BlobDir;
  /** Top-level directories to leave out; default dev, proc, sys (a live system's, not files). */
  exclude?: readonly string[] | undefined;
  /** Environment of the image, after a default PATH. */
  env?: Record<string, string> | undefined;
  /** The default command. */
  cmd?: string[] | undefined;
  /** Its line of history, e.g. `shipml image import ./rootfs`. */
  createdBy: string;
  /** gzip's level for the layer (default 6; 1 compresses a Debian root about twice as fast, 8% larger). */
  gzipLevel?: number | undefined;
}

/** The PATH a root filesystem's image gets unless `env` sets one (Debian's default). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A root filesystem directory (from debootstrap, say) as a one-layer image, like
 * `docker import`: owners, modes and links as they are on disk, fixed file and creation
 * times, so the same tree gives the same digest.
 */
export async function imageFromRootfs(
  dir: string,
  options: RootfsImportOptions,
): Promise<{ image: OciImage; layer: Layer }> {
  const excluded = new Set(options.exclude?.length ? options.exclude : ['dev', 'proc', 'sys']);
  const entries = await collectEntries(dir, {
    target: '/',
    rootfs: true,
    exclude: (rel) => excluded.has(rel.split('/')[0]!),
  });
  const layer = await buildLayer(entries, {
    blobs: options.blobs,
    mtime: FIXED_LAYER_TIME,
    compress: true,
    gzipLevel: options.gzipLevel,
  });
  let image = appendLayers(OciImage.empty(), [{ layer, createdBy: options.createdBy }]);
  image = withConfig(image, {
    env: { PATH: DEFAULT_PATH, ...(options.env ?? {}) },
    ...(options.cmd ? { cmd: options.cmd } : {}),
    created: FIXED_LAYER_TIME.toISOString(),
  });
  return { image, layer };
}
