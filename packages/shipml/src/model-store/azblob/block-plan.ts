const MiB = 1024 * 1024;

/** Azure's limit on the blocks of one block blob is 50,000; we stay a little under it. */
const MAX_BLOCKS = 49_000;
/** Block size when the store does not say. */
export const DEFAULT_BLOCK_SIZE_MIB = 8;
/**
 * Block buffers when the store does not say. The SDK's uploadStream sends three quarters
 * of its buffers at once (rounded up) and fills the rest meanwhile: 6 buffers put 5 blocks
 * in flight (its old default of 4 put 3, one fewer than the Python SDK's max_concurrency=4).
 */
export const DEFAULT_BUFFERS = 6;

/** How one file is cut into blocks, and the buffers uploadStream may fill. */
export interface BlockPlan {
  blockSize: number;
  buffers: number;
}

/**
 * The plan for a file of `size` bytes: the configured block size (default 8 MiB), raised
 * only when the file would otherwise need more than 50,000 blocks, and the configured
 * buffers (default 6), never more than the file has blocks.
 */
export function planBlocks(
  size: number,
  configured: { blockSizeMiB?: number | undefined; concurrency?: number | undefined } = {},
): BlockPlan {
  const blockSize = Math.max(
    (configured.blockSizeMiB ?? DEFAULT_BLOCK_SIZE_MIB) * MiB,
    Math.ceil(size / MAX_BLOCKS / MiB) * MiB,
  );
  const blocks = Math.max(1, Math.ceil(size / blockSize));
  return { blockSize, buffers: Math.min(configured.concurrency ?? DEFAULT_BUFFERS, blocks) };
}
