// build-models.ts — writes the ONNX models the repository ships, graph and weights by hand
// (onnx-proto gives the protobuf schema), so no Python or converter is needed.
//   node backends/onnx/build-models.ts        → backends/onnx/iris/1/model.onnx, the graph example's
//                                               examples/graphs/models/{scaler,iris-standard}, and
//                                               examples/image-classifier/models/classifier/1/model.onnx
// The iris classifier is a softmax regression trained here, deterministically, on the real iris
// data (Fisher 1936, public domain; the copy in data/iris.csv is scikit-learn's). The graph
// example splits one like it in two: a scaler that standardizes the measurements and a
// classifier of standardized features (trained with other settings, so its probabilities differ
// from iris's). buildMlp makes the larger random-weight model the benchmark uses (bench/onnx.ts
// writes it to a temp folder). buildImageClassifier makes examples/image-classifier's small CNN,
// whose hand-set filters name an image's dominant colour (no training data needed).

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const here = dirname(fileURLToPath(import.meta.url));
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function initializer(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) };
}

function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function node(opType: string, inputs: string[], outputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, attribute: attrs };
}

function intAttr(name: string, i: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

function encodeModel(graph: onnxProto.onnx.IGraphProto, docString: string): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 7, producerName: 'infergate build-models.ts', producerVersion: '1', docString,
    opsetImport: [{ domain: '', version: 13 }], graph,
  }).finish();
}

/** loadIris reads the 150 rows of data/iris.csv (header: count, features, class names). */
export function loadIris(): { x: number[][]; y: number[] } {
  const lines = readFileSync(join(here, 'data', 'iris.csv'), 'utf8').trim().split('\n').slice(1);
  const x = lines.map((l) => l.split(',').slice(0, 4).map(Number));
  const y = lines.map((l) => Number(l.split(',')[4]));
  return { x, y };
}

/** irisStats gives the mean and the (population) standard deviation of each iris feature. */
export function irisStats(x: number[][]): { mean: number[]; std: number[] } {
  const n = x.length, f = 4;
  const mean = Array.from({ length: f }, (_, j) => x.reduce((s, r) => s + r[j]!, 0) / n);
  const std = Array.from({ length: f }, (_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n));
  return { mean, std };
}

/**
 * fitSoftmax fits softmax regression (3 classes) on features z by full-batch gradient descent:
 * fixed steps, zero init, so the same weights on every run.
 */
export function fitSoftmax(z: number[][], y: number[], steps: number, rate: number, l2: number): { w: number[][]; b: number[] } {
  const n = z.length, f = 4, k = 3;
  const w = Array.from({ length: f }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  for (let step = 0; step < steps; step++) {
    const gw = Array.from({ length: f }, () => new Array<number>(k).fill(0));
    const gb = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const p = softmax(b.map((bc, c) => bc + z[i]!.reduce((s, v, j) => s + v * w[j]![c]!, 0)));
      for (let c = 0; c < k; c++) {
        const err = p[c]! - (y[i] === c ? 1 : 0);
        gb[c]! += err / n;
        for (let j = 0; j < f; j++) gw[j]![c]! += (err * z[i]![j]!) / n;
      }
    }
    for (let c = 0; c < k; c++) {
      b[c]! -= rate * gb[c]!;
      for (let j = 0; j < f; j++) w[j]![c]! -= rate * (gw[j]![c]! + l2 * w[j]![c]!);
    }
  }
  return { w, b };
}

/**
 * trainIris fits softmax regression on standardized features (fitSoftmax: 3000 steps) and folds
 * the standardization into the weights, so the graph takes raw centimetres.
 */
export function trainIris(): { w: number[][]; b: number[]; accuracy: number } {
  const { x, y } = loadIris();
  const n = x.length;
  const { mean, std } = irisStats(x);
  const z = x.map((r) => r.map((v, j) => (v - mean[j]!) / std[j]!));
  const { w, b } = fitSoftmax(z, y, 3000, 0.5, 1e-4);
  // Fold (x - mean) / std into W and b: W' = W / std, b' = b - Σ mean·W / std.
  const wRaw = w.map((row, j) => row.map((v) => v / std[j]!));
  const bRaw = b.map((bc, c) => bc - mean.reduce((s, m, j) => s + m * wRaw[j]![c]!, 0));
  const correct = x.filter((r, i) => argmax(bRaw.map((bc, c) => bc + r.reduce((s, v, j) => s + v * wRaw[j]![c]!, 0))) === y[i]).length;
  return { w: wRaw, b: bRaw, accuracy: correct / n };
}

/**
 * trainIrisStandard is the graph example's classifier: softmax regression on standardized
 * features, left unfolded (the scaler model standardizes), with fewer steps and more weight decay
 * than iris's, so the two disagree a little and their mean is not either one.
 */
export function trainIrisStandard(): { mean: number[]; std: number[]; w: number[][]; b: number[]; accuracy: number } {
  const { x, y } = loadIris();
  const { mean, std } = irisStats(x);
  const z = x.map((r) => r.map((v, j) => (v - mean[j]!) / std[j]!));
  const { w, b } = fitSoftmax(z, y, 300, 0.5, 1e-2);
  const correct = z.filter((r, i) => argmax(b.map((bc, c) => bc + r.reduce((s, v, j) => s + v * w[j]![c]!, 0))) === y[i]).length;
  return { mean, std, w, b, accuracy: correct / x.length };
}

/** irisModel encodes the classifier: input FP32 [-1,4] → label INT64 [-1], probabilities FP32 [-1,3]. */
export function irisModel(w: number[][], b: number[],
  docString = 'Iris classifier: softmax regression trained by backends/onnx/build-models.ts on the iris data set.'): Uint8Array {
  return encodeModel({
    name: 'iris',
    input: [valueInfo('input', FLOAT, ['batch', 4])],
    output: [valueInfo('label', INT64, ['batch']), valueInfo('probabilities', FLOAT, ['batch', 3])],
    initializer: [initializer('W', [4, 3], w.flat()), initializer('B', [3], b)],
    node: [
      node('MatMul', ['input', 'W'], ['xw']),
      node('Add', ['xw', 'B'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], [intAttr('axis', -1)]),
      node('ArgMax', ['logits'], ['label'], [intAttr('axis', 1), intAttr('keepdims', 0)]),
    ],
  }, docString);
}

/** scalerModel encodes the standardizer: measurements FP32 [-1,4] → input FP32 [-1,4] = (x - mean) / std. */
export function scalerModel(mean: number[], std: number[]): Uint8Array {
  return encodeModel({
    name: 'scaler',
    input: [valueInfo('measurements', FLOAT, ['batch', 4])],
    output: [valueInfo('input', FLOAT, ['batch', 4])],
    initializer: [initializer('MEAN', [4], mean), initializer('STD', [4], std)],
    node: [node('Sub', ['measurements', 'MEAN'], ['centred']), node('Div', ['centred', 'STD'], ['input'])],
  }, 'Standardizes iris measurements in centimetres by the iris data\'s mean and standard deviation (backends/onnx/build-models.ts).');
}

/**
 * buildMlp encodes a ReLU MLP with deterministic pseudo-random weights: input FP32 [-1, sizes[0]]
 * → output FP32 [-1, sizes.at(-1)], big enough that inference dominates a request.
 */
export function buildMlp(sizes: number[] = [256, 1024, 1024, 10]): Uint8Array {
  let seed = 42;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let cur = 'input';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [a, o] = [sizes[l]!, sizes[l + 1]!];
    const scale = Math.sqrt(6 / a);
    inits.push(initializer(`W${l}`, [a, o], Array.from({ length: a * o }, () => rand() * scale)));
    inits.push(initializer(`B${l}`, [o], Array.from({ length: o }, () => rand() * 0.1)));
    const last = l + 2 === sizes.length;
    nodes.push(node('Gemm', [cur, `W${l}`, `B${l}`], [last ? 'output' : `h${l}`]));
    if (!last) {
      nodes.push(node('Relu', [`h${l}`], [`r${l}`]));
      cur = `r${l}`;
    }
  }
  return encodeModel({
    name: 'mlp', node: nodes, initializer: inits,
    input: [valueInfo('input', FLOAT, ['batch', sizes[0]!])],
    output: [valueInfo('output', FLOAT, ['batch', sizes.at(-1)!])],
  }, `Benchmark MLP ${sizes.join('-')} with random weights.`);
}

/** The normalization the image classifier expects of its input (ImageNet's, as most vision models). */
export const imageMean = [0.485, 0.456, 0.406];
export const imageStd = [0.229, 0.224, 0.225];
/** The classes of the image classifier, in output order. */
export const imageClasses = ['red', 'green', 'blue'];

/**
 * buildImageClassifier encodes a small CNN: input `image` FP32 [-1,3,32,32] (NCHW, RGB scaled to
 * 0..1 then normalized with imageMean/imageStd) → Conv 3x3 (3 filters) → Relu → GlobalAveragePool
 * → Flatten → Gemm → Softmax → `probabilities` FP32 [-1,3] over imageClasses. Filter c measures
 * how much channel c exceeds the mean of the other two over a 3x3 box (in raw 0..1 intensities:
 * the normalization is folded into the weights), so the class is the image's dominant colour.
 */
export function buildImageClassifier(): Uint8Array {
  const filters = 3, channels = 3, k = 3;
  const w: number[] = [], bias: number[] = [];
  for (let m = 0; m < filters; m++) {
    let b = 0;
    for (let c = 0; c < channels; c++) {
      // On raw intensities p: +1 for the filter's own channel, -1/2 for each other one, averaged
      // over the box. The input is x = (p - mean) / std, so p = x·std + mean: the weight on x is
      // raw·std and the mean's part is a constant, the bias.
      const raw = (m === c ? 1 : -0.5) / (k * k);
      for (let i = 0; i < k * k; i++) w.push(raw * imageStd[c]!);
      b += raw * k * k * imageMean[c]!;
    }
    bias.push(b);
  }
  // Gemm: logit c = gain · (mean excess of colour c); a gain of 12 makes a solid colour ≈ 0.99999.
  const gain = 12;
  const dense = Array.from({ length: filters * imageClasses.length }, (_, i) => (Math.floor(i / imageClasses.length) === i % imageClasses.length ? gain : 0));
  return encodeModel({
    name: 'classifier',
    input: [valueInfo('image', FLOAT, ['batch', channels, 32, 32])],
    output: [valueInfo('probabilities', FLOAT, ['batch', imageClasses.length])],
    initializer: [initializer('conv_w', [filters, channels, k, k], w), initializer('conv_b', [filters], bias),
      initializer('fc_w', [filters, imageClasses.length], dense), initializer('fc_b', [imageClasses.length], [0, 0, 0])],
    node: [
      node('Conv', ['image', 'conv_w', 'conv_b'], ['conv'], [{ name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [k, k] }]),
      node('Relu', ['conv'], ['excess']), node('GlobalAveragePool', ['excess'], ['pooled']),
      node('Flatten', ['pooled'], ['features'], [intAttr('axis', 1)]), node('Gemm', ['features', 'fc_w', 'fc_b'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], [intAttr('axis', -1)]),
    ],
  }, `Dominant-colour image classifier (${imageClasses.join(', ')}), hand-set weights, by backends/onnx/build-models.ts; input normalized with mean ${imageMean.join(',')} and std ${imageStd.join(',')}.`);
}

const elemTypes: Record<string, number> = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8, BOOL: 9,
  FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
};

/**
 * identityModel encodes one Identity per KServe datatype: input `x_<TYPE>` → output `y_<TYPE>`,
 * shape [batch, 2]; tests use it to push every datatype through the runtime and back.
 */
export function identityModel(datatypes: string[] = Object.keys(elemTypes)): Uint8Array {
  return encodeModel({
    name: 'identity',
    input: datatypes.map((d) => valueInfo(`x_${d}`, elemTypes[d]!, ['batch', 2])),
    output: datatypes.map((d) => valueInfo(`y_${d}`, elemTypes[d]!, ['batch', 2])),
    node: datatypes.map((d) => node('Identity', [`x_${d}`], [`y_${d}`])),
  }, 'Identity over every datatype, for tests.');
}

/**
 * colourModel encodes a one-node image "classifier" for the image transform's tests: input
 * `pixels` FP32 [batch, 3, height, width] → output `scores` FP32 [batch, 3], each channel's mean
 * (ReduceMean over height and width), so a red image scores highest on class 0.
 */
export function colourModel(): Uint8Array {
  const axes: onnxProto.onnx.IAttributeProto = { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 3] };
  return encodeModel({
    name: 'colour',
    input: [valueInfo('pixels', FLOAT, ['batch', 3, 'height', 'width'])],
    output: [valueInfo('scores', FLOAT, ['batch', 3])],
    node: [node('ReduceMean', ['pixels'], ['scores'], [axes, intAttr('keepdims', 0)])],
  }, 'Mean of each colour channel, for the image transform tests.');
}

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / s);
}

function argmax(v: number[]): number {
  return v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { w, b, accuracy } = trainIris();
  if (accuracy < 0.95) throw new Error(`iris training accuracy ${accuracy} is below 0.95`);
  const out = join(here, 'iris', '1', 'model.onnx');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, irisModel(w, b));
  console.log(`wrote ${out}: softmax regression, training accuracy ${(accuracy * 100).toFixed(1)}% on 150 rows`);
  const standard = trainIrisStandard();
  if (standard.accuracy < 0.9) throw new Error(`iris-standard training accuracy ${standard.accuracy} is below 0.9`);
  const graphs = join(here, '..', '..', 'examples', 'graphs', 'models');
  const write = (name: string, bytes: Uint8Array): string => {
    const file = join(graphs, name, '1', 'model.onnx');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    return file;
  };
  console.log(`wrote ${write('scaler', scalerModel(standard.mean, standard.std))}: (x - mean) / std`);
  console.log(`wrote ${write('iris-standard', irisModel(standard.w, standard.b,
    'Iris classifier of standardized features (the graph example\'s second step): softmax regression trained by backends/onnx/build-models.ts.'))}: ` +
    `training accuracy ${(standard.accuracy * 100).toFixed(1)}% on 150 rows`);
  const classifier = join(here, '..', '..', 'examples', 'image-classifier', 'models', 'classifier', '1', 'model.onnx');
  mkdirSync(dirname(classifier), { recursive: true });
  writeFileSync(classifier, buildImageClassifier());
  console.log(`wrote ${classifier}: dominant-colour CNN over ${imageClasses.join(', ')}`);
}
