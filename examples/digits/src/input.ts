import { ApiError } from './errors.js';
import { ImageError, pngToInput } from './image.js';
import { INPUT_SIZE } from './model.js';

export interface InputLimits {
  maxBatch: number;
  maxImageBytes: number;
  maxImageSide: number;
}

/** A validated batch: `count` vectors of 784 floats end to end. */
export interface Batch {
  inputs: Float32Array;
  count: number;
}

const JSON_KEYS = ['input', 'inputs', 'image', 'images'] as const;

/** Throws the 4xx the client should see when a batch is empty or too large. */
export function checkBatchSize(count: number, limits: InputLimits): void {
  if (count === 0)
    throw new ApiError(400, 'empty_batch', 'the batch is empty: send at least one input');
  if (count > limits.maxBatch) {
    throw new ApiError(
      413,
      'batch_too_large',
      `${count} inputs in one request; at most ${limits.maxBatch} are accepted`,
    );
  }
}

/**
 * Validates a JSON body, one of:
 *   {"input": [784 numbers]}            {"inputs": [[784 numbers], ...]}
 *   {"image": "<base64 PNG>"}           {"images": ["<base64 PNG>", ...]}
 * Base64 strings may carry a `data:image/png;base64,` prefix (what canvas.toDataURL gives).
 * Numbers must be finite (JSON has no NaN, but 1e999 parses to Infinity).
 */
export function parseJsonBody(body: unknown, limits: InputLimits): Batch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(
      400,
      'invalid_input',
      `expected a JSON object with one of: ${JSON_KEYS.join(', ')}`,
    );
  }
  const record = body as Record<string, unknown>;
  const present = JSON_KEYS.filter((k) => k in record);
  if (present.length !== 1) {
    throw new ApiError(
      400,
      'invalid_input',
      present.length === 0
        ? `expected one of the keys ${JSON_KEYS.join(', ')}`
        : `send only one of the keys ${present.join(', ')}`,
    );
  }
  const key = present[0]!;
  const value = record[key];
  if (key === 'input' || key === 'image') {
    return key === 'input'
      ? vectors([value], limits, () => 'input')
      : images([value], limits, () => 'image');
  }
  if (!Array.isArray(value)) throw new ApiError(400, 'invalid_input', `${key} must be an array`);
  return key === 'inputs'
    ? vectors(value, limits, (i) => `inputs[${i}]`)
    : images(value, limits, (i) => `images[${i}]`);
}

function vectors(list: unknown[], limits: InputLimits, where: (i: number) => string): Batch {
  checkBatchSize(list.length, limits);
  const inputs = new Float32Array(list.length * INPUT_SIZE);
  for (let n = 0; n < list.length; n++) {
    const v = list[n];
    if (!Array.isArray(v)) {
      throw new ApiError(
        400,
        'invalid_input',
        `${where(n)} must be an array of ${INPUT_SIZE} numbers`,
      );
    }
    if (v.length !== INPUT_SIZE) {
      throw new ApiError(
        400,
        'bad_vector_length',
        `${where(n)} has ${v.length} values; expected ${INPUT_SIZE} (28×28)`,
      );
    }
    const base = n * INPUT_SIZE;
    for (let i = 0; i < INPUT_SIZE; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'number') {
        throw new ApiError(
          400,
          'invalid_input',
          `${where(n)}[${i}] is ${x === null ? 'null' : typeof x}; expected a number`,
        );
      }
      if (!Number.isFinite(x)) {
        throw new ApiError(400, 'not_finite', `${where(n)}[${i}] is not a finite number`);
      }
      inputs[base + i] = x;
    }
  }
  return { inputs, count: list.length };
}

const DATA_URL = /^data:image\/png;base64,/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function images(list: unknown[], limits: InputLimits, where: (i: number) => string): Batch {
  checkBatchSize(list.length, limits);
  const inputs = new Float32Array(list.length * INPUT_SIZE);
  for (let n = 0; n < list.length; n++) {
    const v = list[n];
    if (typeof v !== 'string')
      throw new ApiError(400, 'invalid_input', `${where(n)} must be a base64 string`);
    const text = v.replace(DATA_URL, '');
    if (!BASE64.test(text))
      throw new ApiError(400, 'invalid_input', `${where(n)} is not valid base64`);
    const bytes = Buffer.from(text, 'base64');
    inputs.set(decodeImage(bytes, limits, where(n)), n * INPUT_SIZE);
  }
  return { inputs, count: list.length };
}

/** Decodes one PNG, turning image errors into API errors that name the input. */
export function decodeImage(bytes: Buffer, limits: InputLimits, where: string): Float32Array {
  if (bytes.length > limits.maxImageBytes) {
    throw new ApiError(
      413,
      'image_too_large',
      `${where} is ${bytes.length} bytes; at most ${limits.maxImageBytes} are accepted`,
    );
  }
  try {
    return pngToInput(bytes, limits.maxImageSide);
  } catch (err) {
    if (err instanceof ImageError) {
      throw new ApiError(
        err.code === 'image_too_large' ? 413 : 400,
        err.code,
        `${where}: ${err.message}`,
      );
    }
    throw err;
  }
}
