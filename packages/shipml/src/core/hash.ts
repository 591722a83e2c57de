import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through stream that hashes (sha256) and counts the bytes flowing through it,
 * so a file is hashed in the same pass that uploads or downloads it.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private hex: string | undefined;

  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    this.onBytes?.(this.count);
    done(null, chunk);
  }

  /** Bytes seen so far. (Not `size`: upload libraries read `Body.size` as the total length.) */
  get bytesSeen(): number {
    return this.count;
  }

  /** Hex sha256 of all bytes; only valid once the stream has ended. */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
