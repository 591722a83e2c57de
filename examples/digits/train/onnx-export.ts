import onnxProto from 'onnx-proto';
import type { Mlp } from './mlp.js';

const { onnx } = onnxProto;

/** Names of the graph's input and output, which the server looks up by position anyway. */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'probabilities';

/** ONNX IR version 8 and opset 13: what onnx-proto encodes and onnxruntime-node 1.30 loads. */
const IR_VERSION = 8;
const OPSET = 13;

function floatTensor(name: string, dims: number[], values: Float32Array) {
  // raw_data is little-endian float32 (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function floatValueInfo(name: string, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/**
 * Encodes the MLP as an ONNX model: MatMul → Add → Relu → MatMul → Add → Softmax, with a
 * dynamic batch dimension. The bytes depend only on the weights and `metadata`, so the same
 * training run always produces the same file.
 */
export function exportOnnx(m: Mlp, metadata: Record<string, string>, version: string): Uint8Array {
  const graph = {
    name: 'digits_mlp',
    input: [floatValueInfo(INPUT_NAME, ['batch', m.inputs])],
    output: [floatValueInfo(OUTPUT_NAME, ['batch', m.outputs])],
    initializer: [
      floatTensor('W1', [m.inputs, m.hidden], m.w1),
      floatTensor('b1', [m.hidden], m.b1),
      floatTensor('W2', [m.hidden, m.outputs], m.w2),
      floatTensor('b2', [m.outputs], m.b2),
    ],
    node: [
      { name: 'fc1', opType: 'MatMul', input: [INPUT_NAME, 'W1'], output: ['fc1_out'] },
      { name: 'fc1_bias', opType: 'Add', input: ['fc1_out', 'b1'], output: ['fc1_biased'] },
      { name: 'relu', opType: 'Relu', input: ['fc1_biased'], output: ['hidden'] },
      { name: 'fc2', opType: 'MatMul', input: ['hidden', 'W2'], output: ['fc2_out'] },
      { name: 'fc2_bias', opType: 'Add', input: ['fc2_out', 'b2'], output: ['logits'] },
      {
        name: 'softmax',
        opType: 'Softmax',
        input: ['logits'],
        output: [OUTPUT_NAME],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
    ],
  };
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'shipml-digits-train',
    producerVersion: version,
    docString:
      'Handwritten digit classifier: 28x28 grayscale (0 background, 1 ink) in, 10 probabilities out.',
    graph,
    metadataProps: Object.entries(metadata)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
