import type { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { crc32 } from 'node:zlib';

/**
 * Marks a command's payload as unsigned, so the signer does not hash the body (see
 * uploadObject): the SigV4 signer takes a preset x-amz-content-sha256 as the payload hash.
 */
export function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  (command.middlewareStack as unknown as BuildStack).add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'shipmlUnsignedPayload' },
  );
  return command;
}

/** The one middleware-stack call withUnsignedPayload makes (the SDK's overloads do not unify). */
interface BuildStack {
  add(
    middleware: (next: BuildHandler) => BuildHandler,
    options: { step: 'build'; name: string },
  ): void;
}
type BuildHandler = (args: { request: unknown }) => Promise<unknown>;

/** CRC32 as S3 wants it: the four big-endian bytes, base64. */
export function crc32Base64(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(crc32(bytes) >>> 0);
  return out.toString('base64');
}
