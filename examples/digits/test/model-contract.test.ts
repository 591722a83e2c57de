import { inject, describe, expect, it } from 'vitest';
import { DigitModel, INPUT_SIZE } from '../src/model.js';
import { startServer } from './helpers.js';

/**
 * The contract any digits model must meet for this app to serve it, whatever its accuracy
 * (the quality gate judges that). A pipeline runs this file with MODEL_PATH set to the
 * candidate model it fetched: `npm run test:model`.
 */
const modelDir = process.env.MODEL_PATH ?? inject('modelDir');

describe(`model contract (${modelDir})`, () => {
  it('loads in onnxruntime with 784 inputs and 10 labelled classes', async () => {
    const model = await DigitModel.load(modelDir, { intraOpThreads: 1 });
    try {
      expect(model.classes).toBe(10);
      expect(model.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      const out = await model.run(new Float32Array(2 * INPUT_SIZE).fill(0.3), 2);
      expect(out.length).toBe(20);
      for (const row of [out.slice(0, 10), out.slice(10)]) {
        expect(row.every((p) => p >= 0 && p <= 1)).toBe(true);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
    } finally {
      await model.release();
    }
  });

  it('is served: ready, and /predict answers with a label and probabilities', async () => {
    const srv = await startServer(modelDir);
    try {
      expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
      const res = await fetch(`${srv.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: new Array<number>(INPUT_SIZE).fill(0) }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        predictions: Array<{ label: string; probabilities: number[] }>;
      };
      expect(body.predictions).toHaveLength(1);
      expect(body.predictions[0]!.probabilities).toHaveLength(10);
    } finally {
      await srv.close();
    }
  });
});
