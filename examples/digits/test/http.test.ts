import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inputToPng } from '../src/image.js';
import { INPUT_SIZE } from '../src/model.js';
import { loadSplit, sample } from '../train/data.js';
import type { PredictResponse } from './helpers.js';
import { metricValue, postJson, startServer } from './helpers.js';

const test = loadSplit().test;
/** Test sample i as JSON numbers (3 decimals, as mnist ships them). */
const vec = (i: number) => Array.from(sample(test, i), (v) => Math.round(v * 1000) / 1000);
/** Test samples spread over the set, so that they cover every digit. */
const spread = (n: number) => Array.from({ length: n }, (_, k) => Math.floor((k * test.count) / n));
let url: string;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ url, close } = await startServer(inject('modelDir'), {
    MAX_BATCH: '64',
    BODY_LIMIT_BYTES: '300000',
    MAX_IMAGE_BYTES: '20000',
    APP_COMMIT: '0123456789abcdef0123456789abcdef01234567',
    MODEL_NAME: 'digits',
    MODEL_VERSION: '1.4.0',
  }));
});
afterAll(() => close());

describe('probes and identity', () => {
  it('answers /healthz and /readyz once the model is warm', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('says which code and which model it runs on /version', async () => {
    const v = (await (await fetch(`${url}/version`)).json()) as {
      app: { name: string; version: string; commit: string };
      model: {
        name: string;
        version: string;
        digest: string;
        computedDigest: string;
        loaded: boolean;
      };
      runtime: { onnxruntime: string };
    };
    expect(v.app).toEqual({
      name: 'digits',
      version: '1.0.0',
      commit: '0123456789abcdef0123456789abcdef01234567',
    });
    expect(v.model.name).toBe('digits');
    expect(v.model.version).toBe('1.4.0');
    expect(v.model.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v.model.digest).toBe(v.model.computedDigest);
    expect(v.model.loaded).toBe(true);
    expect(v.runtime.onnxruntime).toBe('1.30.0');
  });

  it('serves the drawing page at /', async () => {
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<canvas id="pad"');
    expect(html).toContain("fetch('/predict'");
  });
});

describe('POST /predict', () => {
  it('classifies one vector with label, confidence and 10 probabilities', async () => {
    const r = await postJson(url, { input: vec(0) });
    expect(r.status).toBe(200);
    const body = r.json as unknown as PredictResponse;
    expect(body.labels).toHaveLength(10);
    expect(body.predictions).toHaveLength(1);
    const p = body.predictions[0]!;
    expect(p.label).toBe(String(test.y[0]));
    expect(p.probabilities).toHaveLength(10);
    expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(p.confidence).toBe(Math.max(...p.probabilities));
  });

  it('scores a batch in ONE inference call', async () => {
    const before = await (await fetch(`${url}/metrics`)).text();
    const picks = spread(5);
    const r = await postJson(url, { inputs: picks.map(vec) });
    expect(r.status).toBe(200);
    const labels = (r.json as unknown as PredictResponse).predictions.map((p) => p.label);
    // The model is not perfect (sample 800 is a 4 it calls a 9), but it gets most right.
    const truth = picks.map((i) => String(test.y[i]));
    expect(labels.filter((l, k) => l === truth[k]).length).toBeGreaterThanOrEqual(4);
    const after = await (await fetch(`${url}/metrics`)).text();
    const runs = (t: string) => metricValue(t, 'digits_inference_batch_size_count');
    const inputs = (t: string) => metricValue(t, 'digits_inference_batch_size_sum');
    expect(runs(after) - runs(before)).toBe(1);
    expect(inputs(after) - inputs(before)).toBe(5);
  });

  it('accepts base64 PNGs (with or without a data: URL prefix)', async () => {
    const png = inputToPng(sample(test, 6)).toString('base64');
    const r = await postJson(url, { images: [png, `data:image/png;base64,${png}`] });
    expect(r.status).toBe(200);
    const labels = (r.json as unknown as PredictResponse).predictions.map((p) => p.label);
    expect(labels).toEqual([String(test.y[6]), String(test.y[6])]);
  });

  it('accepts PNGs as multipart/form-data, one file part per image', async () => {
    const form = new FormData();
    for (const i of [7, 8, 9]) {
      form.append(
        'image',
        new Blob([new Uint8Array(inputToPng(sample(test, i)))], { type: 'image/png' }),
        `d${i}.png`,
      );
    }
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PredictResponse;
    expect(body.predictions.map((p) => p.label)).toEqual([7, 8, 9].map((i) => String(test.y[i])));
  });
});

describe('bad input gets a clear 4xx JSON error', () => {
  const raw = (body: string | Blob | FormData, type?: string) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      body,
      headers: type ? { 'content-type': type } : {},
    });
  const big = JSON.stringify({ input: new Array<number>(INPUT_SIZE).fill(0.123456789) });

  it.each([
    ['wrong content type', () => raw('hello', 'text/plain'), 415, 'unsupported_media_type'],
    ['XML', () => raw('<x/>', 'application/xml'), 415, 'unsupported_media_type'],
    ['no content type', () => raw(new Blob(['{}'])), 415, 'unsupported_media_type'],
    ['non-JSON', () => raw('{"input": [1, 2', 'application/json'), 400, 'invalid_json'],
    ['an empty JSON body', () => raw('', 'application/json'), 400, 'invalid_json'],
    ['NaN in JSON', () => raw('{"input": [NaN]}', 'application/json'), 400, 'invalid_json'],
    [
      'Infinity via 1e999',
      () => raw(big.replace('0.123456789', '1e999'), 'application/json'),
      400,
      'not_finite',
    ],
    ['a wrong vector length', () => postJson(url, { input: [0, 1] }), 400, 'bad_vector_length'],
    ['an empty batch', () => postJson(url, { inputs: [] }), 400, 'empty_batch'],
    [
      'a batch over MAX_BATCH',
      () => postJson(url, { inputs: new Array(65).fill(vec(0)) }),
      413,
      'batch_too_large',
    ],
    [
      'a body over the limit',
      () =>
        raw(
          JSON.stringify({ inputs: new Array(60).fill(JSON.parse(big) as unknown) }),
          'application/json',
        ),
      413,
      'payload_too_large',
    ],
    [
      'base64 that is not a PNG',
      () => postJson(url, { image: Buffer.from('GIF89a............').toString('base64') }),
      400,
      'not_png',
    ],
    [
      'a PNG over MAX_IMAGE_BYTES',
      () =>
        postJson(url, {
          image: Buffer.concat([inputToPng(sample(test, 0)), Buffer.alloc(30000)]).toString(
            'base64',
          ),
        }),
      413,
      'image_too_large',
    ],
  ] as const)('%s', async (_what, send, status, code) => {
    const res = await send();
    const s = res instanceof Response ? res.status : res.status;
    const json =
      res instanceof Response ? ((await res.json()) as Record<string, unknown>) : res.json;
    expect(s).toBe(status);
    const error = json.error as { code: string; message: string };
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(5);
  });

  it('a multipart file that is not a PNG', async () => {
    const form = new FormData();
    form.append('image', new Blob(['just text']), 'x.png');
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(
      ((await res.json()) as { error: { code: string; message: string } }).error,
    ).toMatchObject({ code: 'not_png', message: expect.stringContaining('x.png') as string });
  });

  it('a multipart request without files', async () => {
    const form = new FormData();
    form.append('note', 'no image here');
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('empty_batch');
  });

  it('unknown routes and methods', async () => {
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${url}/predict`)).status).toBe(404);
  });
});

describe('load', () => {
  it('survives 200 concurrent in-flight requests with correct answers and bounded memory', async () => {
    const inputs = spread(32).map(vec);
    const body = JSON.stringify({ inputs });
    // What the model says for these inputs alone; coalesced requests must get the same answers.
    const alone = await postJson(url, { inputs });
    const expected = (alone.json as unknown as PredictResponse).predictions.map((p) => p.label);
    const truth = spread(32).map((i) => String(test.y[i]));
    expect(expected.filter((l, k) => l === truth[k]).length).toBeGreaterThanOrEqual(29);
    const rssBefore = process.memoryUsage().rss;
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(60_000),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as PredictResponse })),
      ),
    );
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(results.map((r) => r.status)).toEqual(new Array(200).fill(200));
    for (const r of results) expect(r.body.predictions.map((p) => p.label)).toEqual(expected);
    // 200 requests × 32 inputs: requests were coalesced into far fewer runs than requests.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'digits_http_requests_in_flight')).toBe(1); // this scrape
    // Client and server share this process: growth includes 200 bodies on both sides (~17 MB).
    expect(rssGrowth).toBeLessThan(300 * 1024 * 1024);
    expect(
      metricValue(metrics, 'digits_http_requests_total', { route: '/predict', status: '200' }),
    ).toBeGreaterThanOrEqual(200);
  });
});

describe('metrics', () => {
  it('exposes request counts, latency and inference histograms, and the model version label', async () => {
    await postJson(url, { input: vec(0) });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(
      metricValue(text, 'digits_http_requests_total', { route: '/predict', status: '200' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'digits_http_requests_total', { route: '/predict', status: '415' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'digits_http_request_duration_seconds_count', { route: '/predict' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'digits_inference_duration_seconds_count', { model_version: '1.4.0' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'digits_predictions_total', { model_version: '1.4.0' }),
    ).toBeGreaterThan(0);
    expect(text).toMatch(
      /digits_build_info\{[^}]*commit="0123456789abcdef0123456789abcdef01234567"[^}]*model_version="1.4.0"[^}]*\} 1/,
    );
    expect(metricValue(text, 'digits_ready')).toBe(1);
  });
});
