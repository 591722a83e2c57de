import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { Batcher, QueueFullError } from '../src/batcher.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ApiError } from '../src/errors.js';
import { inputToPng, pngToInput } from '../src/image.js';
import { parseJsonBody } from '../src/input.js';
import { INPUT_SIZE } from '../src/model.js';
import { loadSplit, sample } from '../train/data.js';

const limits = { maxBatch: 4, maxImageBytes: 100_000, maxImageSide: 512 };

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

const vector = (fill = 0.5) => new Array<number>(INPUT_SIZE).fill(fill);

describe('JSON input validation', () => {
  it('accepts one vector or many and lays them end to end', () => {
    expect(parseJsonBody({ input: vector(0.25) }, limits).count).toBe(1);
    const b = parseJsonBody({ inputs: [vector(0), vector(1)] }, limits);
    expect(b.count).toBe(2);
    expect(b.inputs.length).toBe(2 * INPUT_SIZE);
    expect(b.inputs[INPUT_SIZE]).toBe(1);
  });

  it.each([
    ['a non-object', [1, 2], 400, 'invalid_input'],
    ['no known key', { pixels: [] }, 400, 'invalid_input'],
    ['two keys', { input: vector(), inputs: [vector()] }, 400, 'invalid_input'],
    ['a short vector', { input: [1, 2, 3] }, 400, 'bad_vector_length'],
    [
      'a vector of strings',
      { input: new Array<string>(INPUT_SIZE).fill('1') },
      400,
      'invalid_input',
    ],
    ['Infinity', { input: [...vector().slice(1), Infinity] }, 400, 'not_finite'],
    ['NaN', { inputs: [[NaN, ...vector().slice(1)]] }, 400, 'not_finite'],
    ['an empty batch', { inputs: [] }, 400, 'empty_batch'],
    [
      'a batch over the limit',
      { inputs: [vector(), vector(), vector(), vector(), vector()] },
      413,
      'batch_too_large',
    ],
    ['inputs not an array', { inputs: 'x' }, 400, 'invalid_input'],
    ['an image that is not base64', { image: '***' }, 400, 'invalid_input'],
    [
      'an image that is not a PNG',
      { image: Buffer.from('GIF89a not a png at all....').toString('base64') },
      400,
      'not_png',
    ],
  ])('refuses %s', (_what, body, status, code) => {
    const err = apiError(() => parseJsonBody(body, limits));
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
  });

  it('names the offending input and position', () => {
    const bad = vector();
    bad[17] = Number.POSITIVE_INFINITY;
    expect(apiError(() => parseJsonBody({ inputs: [vector(), bad] }, limits)).message).toBe(
      'inputs[1][17] is not a finite number',
    );
  });
});

describe('PNG decoding', () => {
  const digit = sample(loadSplit().test, 0);

  it('takes a 28×28 MNIST-style PNG as it is (to 8-bit precision)', () => {
    const back = pngToInput(inputToPng(digit), 512);
    for (let i = 0; i < INPUT_SIZE; i++)
      expect(Math.abs(back[i]! - digit[i]!)).toBeLessThanOrEqual(1 / 255 + 1e-6);
  });

  it('inverts dark ink on light paper and centres a larger drawing', () => {
    const png = new PNG({ width: 100, height: 60 });
    png.data.fill(255); // white, opaque
    for (let y = 10; y < 50; y++) {
      for (let x = 5; x < 9; x++) {
        const i = (y * 100 + x) * 4;
        png.data[i] = png.data[i + 1] = png.data[i + 2] = 0; // a black vertical bar near the left edge
      }
    }
    const input = pngToInput(PNG.sync.write(png), 512);
    let mass = 0;
    let cx = 0;
    let cy = 0;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        mass += input[y * 28 + x]!;
        cx += x * input[y * 28 + x]!;
        cy += y * input[y * 28 + x]!;
      }
    }
    expect(mass).toBeGreaterThan(20); // ink became bright
    expect(input[0]).toBe(0); // background became dark
    expect(Math.abs(cx / mass - 13.5)).toBeLessThan(1.5); // centred although drawn at the edge
    expect(Math.abs(cy / mass - 13.5)).toBeLessThan(1.5);
  });

  it('refuses a PNG whose header claims more pixels than allowed, before decoding it', () => {
    const png = Buffer.from(inputToPng(digit));
    png.writeUInt32BE(100_000, 16); // IHDR width
    expect(() => pngToInput(png, 512)).toThrow(/at most 512×512/);
  });

  it('refuses truncated PNGs and non-PNG bytes', () => {
    expect(() => pngToInput(inputToPng(digit).subarray(0, 60), 512)).toThrow(
      /could not be decoded/,
    );
    expect(() => pngToInput(Buffer.from('hello world, this is not an image'), 512)).toThrow(
      /not a PNG/,
    );
  });
});

describe('Batcher', () => {
  function fakeModel() {
    const runs: number[] = [];
    return {
      runs,
      classes: 2,
      run(inputs: Float32Array, count: number) {
        runs.push(count);
        // "probabilities": [first pixel, count]
        const out = new Float32Array(count * 2);
        for (let n = 0; n < count; n++) {
          out[n * 2] = inputs[n * INPUT_SIZE]!;
          out[n * 2 + 1] = count;
        }
        return Promise.resolve(out);
      },
    };
  }
  const batch = (count: number, first: number) => {
    const x = new Float32Array(count * INPUT_SIZE);
    for (let n = 0; n < count; n++) x[n * INPUT_SIZE] = first + n;
    return x;
  };

  it('scores concurrent requests in one run and hands each its own rows', async () => {
    const model = fakeModel();
    const b = new Batcher(model, 64, 1000);
    const [r1, r2, r3] = await Promise.all([
      b.submit(batch(1, 10), 1),
      b.submit(batch(3, 20), 3),
      b.submit(batch(2, 30), 2),
    ]);
    expect(model.runs).toEqual([6]);
    expect(Array.from(r1)).toEqual([10, 6]);
    expect(Array.from(r2)).toEqual([20, 6, 21, 6, 22, 6]);
    expect(Array.from(r3)).toEqual([30, 6, 31, 6]);
  });

  it('never splits a request across runs and respects the run size', async () => {
    const model = fakeModel();
    const b = new Batcher(model, 4, 1000);
    await Promise.all([
      b.submit(batch(3, 0), 3),
      b.submit(batch(3, 0), 3),
      b.submit(batch(1, 0), 1),
    ]);
    expect(model.runs).toEqual([3, 4]);
  });

  it('refuses work beyond the queue bound instead of buffering it', async () => {
    const model = fakeModel();
    const b = new Batcher(model, 4, 5);
    const first = b.submit(batch(4, 0), 4);
    await expect(b.submit(batch(2, 0), 2)).rejects.toBeInstanceOf(QueueFullError);
    await first;
    expect(b.depth).toBe(0);
  });
});

describe('configuration', () => {
  it('has defaults and reads the build and model identity', () => {
    const c = loadConfig({
      MODEL_PATH: '/m',
      SHIPML_COMMIT: 'abc',
      MODEL_VERSION: '1.2.0',
      MODEL_DIGEST: ' ',
    });
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.build.commit).toBe('abc');
    expect(c.build.modelVersion).toBe('1.2.0');
    expect(c.build.modelDigest).toBeUndefined();
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', MAX_BATCH: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty', MAX_BATCH: '0' })).toThrow(/PORT.*MAX_BATCH/);
  });
});
