/** Writing an image where a command was told to, as build and the image commands do. */
import { pushNotes, writeImage, type ImageLocation, type WriteResult } from '../oci/locations.js';
import type { Image } from '../oci/types.js';
import type { CliContext } from './context.js';

/**
 * Writes `image` to `location` with `tags`, and notes each tag the push moved from another
 * image and each mount that fell back to an upload.
 */
export async function writeTo(
  ctx: CliContext,
  image: Image,
  location: ImageLocation,
  tags: readonly string[],
  options: Parameters<typeof writeImage>[3],
): Promise<WriteResult> {
  const written = await writeImage(image, location, tags, options);
  for (const note of pushNotes(written, location)) ctx.output.note(note);
  return written;
}

/** What a push sent, for --json: bytes and blobs uploaded, already there, mounted. */
export function uploadSummary(written: WriteResult | undefined) {
  return written?.push ? { bytes: written.push.uploadedBytes, ...written.push.blobs } : null;
}
