/**
 * Measures the memory of one training step with text, to check the estimate of
 * src/config/memory.ts that the wasm-batch-memory config check uses. It builds the config's model and
 * feeds it random images with reports of the longest kind, as the estimate assumes: maxSentences
 * sentences of maxSentenceTokens tokens, their ends spread over the time steps. Then it runs the forward
 * and backward pass that the trainer runs, and prints the estimate beside:
 *
 * - peak: the most bytes of tensors alive during the step, as tf.profile counts them;
 * - heap: the size of the wasm heap after the step (wasm backend only), which only grows, so it is the
 *   high-water mark that the 4 GiB limit applies to.
 *
 * Usage: node --import tsx scripts/measure-step-memory.ts <config.yaml> [--set path=value]...
 * For example: scripts/measure-step-memory.ts configs/vqa-rad.yaml --set backend=wasm --set train.batchSize=8
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.ts';
import { loadConfig } from '../src/config/load.ts';
import { estimateWasmTrainingStep } from '../src/config/memory.ts';
import { MODEL_PARTS } from '../src/model/parameters.ts';
import { buildModel } from '../src/model/model.ts';
import { toTextInputs } from '../src/model/text-encoder.ts';
import { Random } from '../src/random.ts';

const VOCABULARY_SIZE = 1500;
const CLASSES = 3;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { set: { type: 'string', multiple: true } },
});
if (positionals.length !== 1) throw new Error('Usage: measure-step-memory.ts <config.yaml> [--set path=value]...');
const loaded = loadConfig(positionals[0], { overrides: values.set ?? [] });
const { config } = loaded;
const backend = await selectBackend(config.backend);

const random = new Random(config.seed);
const batchSize = config.train.batchSize;
const { imageSize, maxSentences, maxSentenceTokens } = config.data;
const model = buildModel(
  config.model,
  { vocabularySize: VOCABULARY_SIZE, classes: CLASSES, sentences: maxSentences },
  random.fork('model'),
  { configDir: loaded.dir },
);

const imageValues = new Float32Array(batchSize * imageSize * imageSize * 3);
for (let i = 0; i < imageValues.length; i++) imageValues[i] = random.normal();
const steps = maxSentences * maxSentenceTokens;
const tokens = new Int32Array(batchSize * steps);
for (let i = 0; i < tokens.length; i++) tokens[i] = 1 + random.int(VOCABULARY_SIZE - 1);
// Sentence n of sample b ends inside its own block of maxSentenceTokens steps, at an offset that varies
// with b and n, so that most time steps end some sentence of the batch.
const sentencePositions = new Int32Array(batchSize * maxSentences);
for (let b = 0; b < batchSize; b++) {
  for (let n = 0; n < maxSentences; n++) sentencePositions[b * maxSentences + n] = n * maxSentenceTokens + ((b * 7 + n * 3) % maxSentenceTokens);
}
const sentenceMask = new Float32Array(batchSize * maxSentences).fill(1);
const labels = Array.from({ length: batchSize }, () => random.int(CLASSES));

const variables = MODEL_PARTS.flatMap((part) => model.store.trainable(part));
const parameterBytes = variables.reduce((sum, variable) => sum + variable.size * 4, 0);

function runStep(): void {
  const images = tf.tensor4d(imageValues, [batchSize, imageSize, imageSize, 3]);
  const text = toTextInputs(tokens, steps, sentencePositions, sentenceMask, batchSize, maxSentences);
  const mask = tf.tensor2d(sentenceMask, [batchSize, maxSentences]);
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const context = { training: true, random: random.fork('dropout') };
  const { value, grads } = tf.variableGrads(() => {
    const outputs = model.apply({ images, text, sentenceMask: mask, textScale: 1 }, context);
    return tf.losses.softmaxCrossEntropy(oneHot, outputs.logits) as tf.Scalar;
  }, variables);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads), images, mask, oneHot, ...text.tokensByStep]);
  for (const ends of text.sentenceEndsByStep) ends?.dispose();
}

const profile = await tf.profile(runStep);
const wasmHeapBytes =
  backend.tfjsBackend === 'wasm'
    ? (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength
    : undefined;
const estimate = estimateWasmTrainingStep(config);

const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
console.log(
  JSON.stringify({
    config: positionals[0],
    overrides: values.set ?? [],
    backend: backend.name,
    batchSize,
    estimate: { total: mebibytes(estimate.totalBytes), perSample: mebibytes(estimate.perSampleBytes), fixed: mebibytes(estimate.fixedBytes) },
    measured: {
      peak: mebibytes(profile.peakBytes),
      peakPerSample: mebibytes(profile.peakBytes / batchSize),
      parameters: mebibytes(parameterBytes),
      wasmHeap: wasmHeapBytes === undefined ? null : mebibytes(wasmHeapBytes),
    },
  }),
);
model.dispose();
