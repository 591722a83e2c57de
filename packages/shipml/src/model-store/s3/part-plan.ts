const MiB = 1024 * 1024;

/** S3's limit on the parts of one multipart upload is 10,000; we stay a little under it. */
const MAX_PARTS = 9_500;
/** Part size when the store does not say (the AWS CLI's multipart_chunksize). */
export const DEFAULT_PART_SIZE_MIB = 8;
/** Most parts in flight when the store does not say (the AWS CLI sends up to 10). */
export const DEFAULT_QUEUE_SIZE = 6;
/**
 * What the part buffers of one upload may hold when the queue size is not configured:
 * the default 8 MiB parts get 6 in flight (7 buffers, 56 MiB), the larger parts of a
 * very large file fewer, so the publish stays inside its memory bound.
 */
const DEFAULT_BUFFER_BUDGET = 64 * MiB;

/** How one file is cut into parts and how many of them are sent at once. */
export interface PartPlan {
  /** Bytes per part (the last may be shorter). */
  partSize: number;
  /** Parts in flight at once; the buffers hold partSize × (concurrency + 1). */
  concurrency: number;
}

/**
 * The plan for a file of `size` bytes. Part size: the configured one (default 8 MiB),
 * raised only when the file would otherwise need more than S3's 10,000 parts. Parts in
 * flight: the configured queue size, else as many as fit the buffer budget (at most 6);
 * never more than the file has parts — a 20 MiB file gets three parts, three buffers.
 */
export function planParts(
  size: number,
  configured: { partSizeMiB?: number | undefined; queueSize?: number | undefined } = {},
): PartPlan {
  const partSize = Math.max(
    (configured.partSizeMiB ?? DEFAULT_PART_SIZE_MIB) * MiB,
    Math.ceil(size / MAX_PARTS / MiB) * MiB,
  );
  const parts = Math.max(1, Math.ceil(size / partSize));
  const queue =
    configured.queueSize ??
    Math.min(DEFAULT_QUEUE_SIZE, Math.floor(DEFAULT_BUFFER_BUDGET / partSize) - 1);
  return { partSize, concurrency: Math.max(1, Math.min(queue, parts)) };
}
