import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Length of one input vector: a 28×28 image, row by row, 0 = background, 1 = ink. */
export const INPUT_SIZE = 784;

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

/** Where the model came from and what it is, as /version reports it. */
export interface ModelFiles {
  /** The .onnx file. */
  onnxPath: string;
  /** The labels file, if one was found. */
  labelsPath: string | undefined;
  /**
   * ShipML's model digest of the directory's files: sha256 over the canonical list of
   * {"path","size","sha256"} sorted by path (see packages/shipml/src/model-store/manifest.ts),
   * so it equals the store's digest when MODEL_PATH is a directory pulled with `shipml model pull`.
   */
  digest: string;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/**
 * Resolves MODEL_PATH: either a directory holding exactly one `*.onnx` file (preferably
 * `model.onnx`) and optionally `labels.json`, or the path of the .onnx file itself (then
 * `labels.json` is looked up beside it and the digest covers just that file and the labels).
 */
export async function resolveModelFiles(modelPath: string): Promise<ModelFiles> {
  let info;
  try {
    info = await stat(modelPath);
  } catch {
    throw new ModelLoadError(`MODEL_PATH ${modelPath} does not exist`);
  }
  let dir: string;
  let files: string[];
  let onnxPath: string;
  if (info.isDirectory()) {
    dir = modelPath;
    files = await listFiles(dir);
    const onnxFiles = files.filter((f) => f.endsWith('.onnx'));
    const preferred = onnxFiles.find((f) => relative(dir, f) === 'model.onnx');
    if (!preferred && onnxFiles.length !== 1) {
      throw new ModelLoadError(
        `MODEL_PATH ${modelPath} must hold model.onnx or exactly one .onnx file, found ${onnxFiles.length}`,
      );
    }
    onnxPath = preferred ?? onnxFiles[0]!;
  } else {
    dir = dirname(modelPath);
    onnxPath = modelPath;
    files = [modelPath];
  }
  const labelsCandidate = join(dirname(onnxPath), 'labels.json');
  const labelsPath = (await stat(labelsCandidate).catch(() => undefined))?.isFile()
    ? labelsCandidate
    : undefined;
  if (labelsPath && !files.includes(labelsPath)) files.push(labelsPath);

  const entries = [];
  for (const file of files) {
    const bytes = await readFile(file);
    entries.push({
      path: relative(dir, file).split(sep).join('/'),
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const digest = `sha256:${createHash('sha256').update(JSON.stringify(entries)).digest('hex')}`;
  return { onnxPath, labelsPath, digest };
}

async function readLabels(path: string | undefined, classes: number): Promise<string[]> {
  if (!path) return Array.from({ length: classes }, (_, k) => String(k));
  let labels: unknown;
  try {
    labels = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new ModelLoadError(`${path}: expected a JSON array of strings`);
  }
  if (labels.length !== classes) {
    throw new ModelLoadError(
      `${path}: ${labels.length} labels for a model with ${classes} outputs`,
    );
  }
  return labels;
}

/** A loaded classifier: one onnxruntime session plus its labels. */
export class DigitModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly files: ModelFiles,
    readonly labels: string[],
    readonly inputName: string,
    readonly outputName: string,
  ) {}

  /** Number of classes the model scores. */
  get classes(): number {
    return this.labels.length;
  }

  /** The onnxruntime version in use (what /version reports). */
  static runtimeVersion(): string {
    return ort.env.versions.node ?? ort.env.versions.common;
  }

  /** Loads the model at `modelPath` (see resolveModelFiles) and checks its input and output shape. */
  static async load(modelPath: string, options: { intraOpThreads: number }): Promise<DigitModel> {
    const files = await resolveModelFiles(modelPath);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.onnxPath, {
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
    } catch (err) {
      throw new ModelLoadError(
        `${basename(files.onnxPath)}: onnxruntime could not load it (${(err as Error).message})`,
      );
    }
    const [inputName] = session.inputNames;
    const [outputName] = session.outputNames;
    if (!inputName || !outputName) throw new ModelLoadError('the model has no input or no output');
    // Probe once: the output width is the number of classes, and the input must take 784 floats.
    let classes: number;
    try {
      const probe = await session.run({
        [inputName]: new ort.Tensor('float32', new Float32Array(INPUT_SIZE), [1, INPUT_SIZE]),
      });
      classes = probe[outputName]!.dims[1] ?? 0;
    } catch (err) {
      await session.release();
      throw new ModelLoadError(
        `the model does not accept a [batch, ${INPUT_SIZE}] float input (${(err as Error).message})`,
      );
    }
    const labels = await readLabels(files.labelsPath, classes);
    return new DigitModel(session, files, labels, inputName, outputName);
  }

  /**
   * Scores `count` inputs laid end to end in `inputs` (count × 784 floats) in ONE
   * session.run; returns count × classes probabilities.
   */
  async run(inputs: Float32Array, count: number): Promise<Float32Array> {
    const result = await this.session.run({
      [this.inputName]: new ort.Tensor('float32', inputs, [count, INPUT_SIZE]),
    });
    const output = result[this.outputName];
    if (!output || output.type !== 'float32') throw new Error('model returned no float32 output');
    return output.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
