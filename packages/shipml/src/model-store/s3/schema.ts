import { z } from 'zod';

/** Options of the `s3://bucket/prefix` store. Credentials default to the AWS chain. */
export const S3StoreOptionsSchema = z
  .object({
    /** S3-compatible endpoint (MinIO, Ceph, ...); default: AWS, or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
    endpoint: z.url().optional(),
    /** Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
    region: z.string().min(1).optional(),
    /** Path-style addressing; default true when an endpoint is set (most S3-compatible servers need it). */
    forcePathStyle: z.boolean().optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /** Part size for multipart uploads, in MiB (5..5120; default 8, raised for files over ~75 GiB). */
    partSizeMiB: z.number().int().min(5).max(5120).optional(),
    /** Parts in flight at once (default: up to 6, fewer for larger parts); buffers hold partSizeMiB × (queueSize + 1). */
    queueSize: z.number().int().min(1).max(64).optional(),
  })
  .strict()
  .refine((o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined), {
    message: 'accessKeyId and secretAccessKey must be set together',
  });
export type S3StoreOptions = z.infer<typeof S3StoreOptionsSchema>;
