/**
 * Measures one forward and backward pass of a WRN-16-4-like CNN on the wasm backend with the project's
 * kernels. The network is a 7x7 stride-4 stem to 16 channels, then pre-activation residual blocks of 64,
 * 128 and 256 channels (strides 1, 2, 2, two blocks each), then global average pooling and a dense layer.
 * The blocks use batch norm from tf.moments, ReLU, 3x3 convolutions and 1x1 shortcuts. Prints ms per
 * step and per sample, then the kernels that took the most time in one profiled step.
 *
 * Usage: node --import tsx scripts/bench-wasm-step.ts [--batch 32] [--size 64] [--steps 5] [--backend wasm]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../src/config/schema.ts';
import { selectBackend } from '../src/backend/select.ts';
import { Random } from '../src/random.ts';

const { values: options } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '64' },
    steps: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'wasm' },
    top: { type: 'string', default: '25' },
  },
});
const batchSize = Number(options.batch);
const imageSize = Number(options.size);
const steps = Number(options.steps);
const classCount = 2;

const random = new Random(1234);

/** Creates a variable of He-normal values for a filter or weight whose fan-in is `fanIn`. */
function heNormal(shape: number[], fanIn: number): tf.Variable {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  const scale = Math.sqrt(2 / fanIn);
  for (let i = 0; i < values.length; i++) values[i] = random.normal() * scale;
  return tf.variable(tf.tensor(values, shape));
}

interface BatchNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
}

function makeBatchNorm(channels: number): BatchNorm {
  return { gamma: tf.variable(tf.ones([channels])), beta: tf.variable(tf.zeros([channels])) };
}

/** Training-mode batch norm over batch, height and width, from tf.moments. */
function batchNorm(x: tf.Tensor4D, { gamma, beta }: BatchNorm): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5)).mul(gamma)).add(beta);
}

interface Block {
  firstNorm: BatchNorm;
  firstConvolution: tf.Variable;
  secondNorm: BatchNorm;
  secondConvolution: tf.Variable;
  shortcut: tf.Variable | null;
  stride: number;
}

function makeBlock(inChannels: number, outChannels: number, stride: number): Block {
  return {
    firstNorm: makeBatchNorm(inChannels),
    firstConvolution: heNormal([3, 3, inChannels, outChannels], 9 * inChannels),
    secondNorm: makeBatchNorm(outChannels),
    secondConvolution: heNormal([3, 3, outChannels, outChannels], 9 * outChannels),
    shortcut: inChannels !== outChannels || stride !== 1 ? heNormal([1, 1, inChannels, outChannels], inChannels) : null,
    stride,
  };
}

/** Runs a pre-activation residual block: BN, ReLU, 3x3 conv, BN, ReLU, 3x3 conv, plus the (1x1) shortcut. */
function runBlock(x: tf.Tensor4D, block: Block): tf.Tensor4D {
  const activated = tf.relu(batchNorm(x, block.firstNorm));
  let y = tf.conv2d(activated, block.firstConvolution as tf.Tensor4D, block.stride, 'same');
  y = tf.relu(batchNorm(y, block.secondNorm));
  y = tf.conv2d(y, block.secondConvolution as tf.Tensor4D, 1, 'same');
  const shortcut =
    block.shortcut == null ? x : tf.conv2d(activated, block.shortcut as tf.Tensor4D, block.stride, 'same');
  return y.add(shortcut);
}

async function main(): Promise<void> {
  const info = await selectBackend(options.backend as BackendName);
  console.log(`backend ${info.name} (tf.getBackend() = ${info.tfjsBackend}), versions ${JSON.stringify(info.versions)}`);
  for (const warning of info.warnings) console.log(`warning: ${warning}`);

  const stem = heNormal([7, 7, 3, 16], 7 * 7 * 3);
  const blocks = [
    makeBlock(16, 64, 1),
    makeBlock(64, 64, 1),
    makeBlock(64, 128, 2),
    makeBlock(128, 128, 1),
    makeBlock(128, 256, 2),
    makeBlock(256, 256, 1),
  ];
  const finalNorm = makeBatchNorm(256);
  const dense = heNormal([256, classCount], 256);

  const imageValues = new Float32Array(batchSize * imageSize * imageSize * 3);
  for (let i = 0; i < imageValues.length; i++) imageValues[i] = random.normal();
  const images = tf.tensor4d(imageValues, [batchSize, imageSize, imageSize, 3]);
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batchSize }, () => random.int(classCount)),
      'int32',
    ),
    classCount,
  );

  const loss = (): tf.Scalar => {
    let x = tf.conv2d(images, stem as tf.Tensor4D, 4, 'same');
    for (const block of blocks) x = runBlock(x, block);
    const pooled = tf.relu(batchNorm(x, finalNorm)).mean([1, 2]) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(labels, tf.matMul(pooled, dense as tf.Tensor2D));
  };

  const runStep = (): number => {
    const { value, grads } = tf.variableGrads(loss);
    const lossValue = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return lossValue;
  };

  for (let i = 0; i < 2; i++) runStep();
  const durations: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    runStep();
    durations.push(performance.now() - start);
  }
  durations.sort((a, b) => a - b);
  const median = durations[Math.floor(durations.length / 2)];
  const mean = durations.reduce((sum, value) => sum + value, 0) / durations.length;
  console.log(
    `batch ${batchSize}, ${imageSize}x${imageSize}: median ${median.toFixed(0)} ms/step, mean ${mean.toFixed(0)} ms/step, ` +
      `${(median / batchSize).toFixed(1)} ms/sample (median of ${steps} steps after 2 warm-up steps)`,
  );

  const profile = await tf.profile(() => {
    runStep();
  });
  const byKernel = new Map<string, { milliseconds: number; calls: number }>();
  for (const kernel of profile.kernels) {
    const entry = byKernel.get(kernel.name) ?? { milliseconds: 0, calls: 0 };
    entry.milliseconds += kernel.kernelTimeMs as number;
    entry.calls += 1;
    byKernel.set(kernel.name, entry);
  }
  const total = [...byKernel.values()].reduce((sum, entry) => sum + entry.milliseconds, 0);
  console.log(`profiled step: ${total.toFixed(0)} ms in ${profile.kernels.length} kernel calls`);
  const sorted = [...byKernel.entries()].sort((a, b) => b[1].milliseconds - a[1].milliseconds);
  for (const [name, entry] of sorted.slice(0, Number(options.top))) {
    const share = ((100 * entry.milliseconds) / total).toFixed(1);
    console.log(`  ${name.padEnd(24)} ${entry.milliseconds.toFixed(1).padStart(8)} ms ${share.padStart(5)}% ${entry.calls} calls`);
  }
}

await main();
