import { PNG } from 'pngjs';
import { INPUT_SIZE } from './model.js';

const SIDE = 28;
/** MNIST digits fit a 20×20 box centred by centre of mass in the 28×28 frame. */
const BOX = 20;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A client error about one image: the HTTP layer turns it into a 400 (or 413) response. */
export class ImageError extends Error {
  override name = 'ImageError';
  constructor(
    readonly code: 'not_png' | 'invalid_image' | 'image_too_large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Decodes a PNG into the model's input: 784 floats, ink = 1, background = 0.
 *
 * - Transparent pixels are composited on white, colours become luminance, and if the border
 *   is light (dark ink on white paper, as people draw) the image is inverted to MNIST's
 *   light-on-dark convention.
 * - A 28×28 image is taken as it is (it is already in MNIST's format). Any other size is
 *   cropped to its ink, scaled so the longer side is 20 pixels and centred by centre of mass
 *   in a 28×28 frame, as MNIST itself was prepared.
 *
 * The width and height are read from the IHDR chunk before decoding, so a small file
 * claiming a huge image (a decompression bomb) is refused without allocating it.
 */
export function pngToInput(bytes: Buffer, maxSide: number): Float32Array {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new ImageError('not_png', 'not a PNG image (bad signature)');
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0) throw new ImageError('invalid_image', 'PNG has no pixels');
  if (width > maxSide || height > maxSide) {
    throw new ImageError(
      'image_too_large',
      `PNG is ${width}×${height}; at most ${maxSide}×${maxSide} pixels are accepted`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (err) {
    throw new ImageError('invalid_image', `PNG could not be decoded (${(err as Error).message})`);
  }
  const gray = toGray(png.data, png.width, png.height);
  if (png.width === SIDE && png.height === SIDE) return gray;
  return normalize(gray, png.width, png.height);
}

/** RGBA bytes → ink intensity in [0, 1], inverted when the background is light. */
function toGray(rgba: Buffer, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    const lum = (0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!) / 255;
    out[i] = lum * a + (1 - a); // composite on white
  }
  let border = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    border += out[x]! + out[(height - 1) * width + x]!;
    n += 2;
  }
  for (let y = 0; y < height; y++) {
    border += out[y * width]! + out[y * width + width - 1]!;
    n += 2;
  }
  if (border / n > 0.5) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i]!;
  return out;
}

/** Crops to the ink, scales the longer side to 20 px (area average), centres by mass in 28×28. */
function normalize(gray: Float32Array, width: number, height: number): Float32Array {
  const threshold = 0.1;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x]! <= threshold) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  const out = new Float32Array(INPUT_SIZE);
  if (x1 < 0) return out; // blank image: all background
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const scale = BOX / Math.max(cw, ch);
  const tw = Math.max(1, Math.round(cw * scale));
  const th = Math.max(1, Math.round(ch * scale));
  // Area-average resampling: each target pixel averages the source rectangle it covers.
  const small = new Float32Array(tw * th);
  for (let ty = 0; ty < th; ty++) {
    const sy0 = y0 + (ty * ch) / th;
    const sy1 = y0 + ((ty + 1) * ch) / th;
    for (let tx = 0; tx < tw; tx++) {
      const sx0 = x0 + (tx * cw) / tw;
      const sx1 = x0 + ((tx + 1) * cw) / tw;
      let sum = 0;
      let area = 0;
      for (let sy = Math.floor(sy0); sy < Math.ceil(sy1); sy++) {
        const wy = Math.min(sy + 1, sy1) - Math.max(sy, sy0);
        for (let sx = Math.floor(sx0); sx < Math.ceil(sx1); sx++) {
          const wx = Math.min(sx + 1, sx1) - Math.max(sx, sx0);
          sum += gray[sy * width + sx]! * wx * wy;
          area += wx * wy;
        }
      }
      small[ty * tw + tx] = area > 0 ? sum / area : 0;
    }
  }
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x]!;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const offX = Math.round(SIDE / 2 - (mass > 0 ? mx / mass : tw / 2) - 0.5);
  const offY = Math.round(SIDE / 2 - (mass > 0 ? my / mass : th / 2) - 0.5);
  for (let y = 0; y < th; y++) {
    const oy = y + offY;
    if (oy < 0 || oy >= SIDE) continue;
    for (let x = 0; x < tw; x++) {
      const ox = x + offX;
      if (ox < 0 || ox >= SIDE) continue;
      out[oy * SIDE + ox] = Math.min(1, small[y * tw + x]!);
    }
  }
  return out;
}

/** Encodes 784 floats (ink = 1) as a 28×28 grayscale PNG, white digit on black like MNIST. */
export function inputToPng(input: Float32Array): Buffer {
  const png = new PNG({ width: SIDE, height: SIDE });
  for (let i = 0; i < INPUT_SIZE; i++) {
    const v = Math.round(Math.min(1, Math.max(0, input[i]!)) * 255);
    png.data[i * 4] = v;
    png.data[i * 4 + 1] = v;
    png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
