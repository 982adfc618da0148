/**
 * Times training steps of the default TandemNet on one tfjs backend, with text, as the trainer runs them.
 * A step computes the gradient of every trained parameter, clips the attention gradient at its norm, and
 * applies SGD with momentum to the CNN and Adam to the rest. With one worker the step runs in this thread
 * as the trainer's own step does, or as micro-batches when the batch does not fit the wasm heap. With more
 * workers it runs on ShardedTraining's worker threads.
 *
 * Prints one JSON object: the duration of every timed step in ms, the peak resident memory of the process
 * (worker threads included) and the shard plan. `--profile` also prints the kernels of one in-thread step
 * to stderr. `--memory` adds the peak tensor bytes of one in-thread step (tf.profile) beside the config
 * check's estimate for it. `--gemm` times float32 matrix products on the backend instead. `--blas` sets
 * the config's blas (off, auto or openblas; default off). Run by
 * scripts/bench/run.ts, or alone:
 *
 *   node --import tsx scripts/bench/tfjs-step.ts --size 64 --batch 32 --workers 2 --steps 3
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, setBlasThreads } from '../../src/backend/select.ts';
import { estimateWasmTrainingStep } from '../../src/config/memory.ts';
import type { BackendName, BlasSetting, ExperimentConfig } from '../../src/config/schema.ts';
import { disposeModelInputs, toModelInputs } from '../../src/model/inputs.ts';
import { buildModel, type Model } from '../../src/model/model.ts';
import { planParallelism } from '../../src/parallel/plan.ts';
import { ShardedTraining, type GradientOf, type StepTiming } from '../../src/parallel/sharded-training.ts';
import { Random } from '../../src/random.ts';
import { clipByGlobalNorm } from '../../src/train/optimizers.ts';
import { createTrainedParts } from '../../src/train/train.ts';
import { benchmarkConfig, CLASSES, stepOverrides, syntheticBatch, VOCABULARY_SIZE } from './synthetic.ts';

const { values: options } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    backend: { type: 'string', default: 'wasm' },
    workers: { type: 'string', default: 'auto' },
    blas: { type: 'string', default: 'off' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    gemm: { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
  },
});

/** Prints the best rate of 1024 x 1024 float32 matrix products on the backend, in this thread. */
async function measureGemm(): Promise<void> {
  await selectBackend(options.backend as BackendName, { blas: options.blas as BlasSetting });
  await setBlasThreads(availableParallelism());
  const side = 1024;
  const a = tf.randomNormal([side, side]);
  const b = tf.randomNormal([side, side]);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
    // The first product also packs b, which the later ones reuse.
    if (i > 0) best = Math.min(best, performance.now() - started);
  }
  tf.dispose([a, b]);
  process.stdout.write(`${JSON.stringify({ gflops: (2 * side ** 3) / (best / 1000) / 1e9 })}\n`);
}

/** Builds the optimisers of the trained parts as the trainer does, and returns the function that applies them. */
function makeOptimisers(model: Model, config: ExperimentConfig): { apply: (gradientOf: GradientOf) => void; dispose: () => void } {
  const { attentionGradientClip } = config.train;
  const trained = createTrainedParts(model, config);
  return {
    apply(gradientOf) {
      for (const { part, variables, optimizer } of trained) {
        const gradients = variables.map(gradientOf);
        optimizer.step(part === 'attention' ? clipByGlobalNorm(gradients, attentionGradientClip).clipped : gradients);
      }
    },
    dispose() {
      for (const { optimizer } of trained) optimizer.dispose();
    },
  };
}

async function main(): Promise<void> {
  const imageSize = Number(options.size);
  const batchSize = Number(options.batch);
  const workersSetting = options.workers === 'auto' ? 'auto' : Number(options.workers);
  const { config } = benchmarkConfig(stepOverrides(imageSize, batchSize));
  config.backend = options.backend as BackendName;
  config.blas = options.blas as BlasSetting;
  const backend = await selectBackend(config.backend as BackendName, { blas: config.blas });
  (config.train as { workers?: unknown }).workers = workersSetting;
  const parallel = planParallelism(config, backend.name, availableParallelism(), backend.blas.maxThreads);
  const blasThreads = await setBlasThreads(parallel.workers > 1 ? 1 : availableParallelism());

  const shape = { vocabularySize: VOCABULARY_SIZE, classes: CLASSES, sentences: config.data.maxSentences };
  const model = buildModel(config.model, shape, new Random(config.seed));
  const optimisers = makeOptimisers(model, config);
  const batch = syntheticBatch(batchSize, imageSize, config.data.maxSentences);
  const dropoutRandom = new Random(config.seed).fork('dropout');
  const sharded = parallel.sharded
    ? await ShardedTraining.start({ config, model, backend: backend.name, workers: parallel.workers, maxShardSize: parallel.maxShardSize })
    : null;

  /** Runs the trainer's own step: one tf.variableGrads over the batch, then the optimisers. */
  const directStep = (): void => {
    const inputs = toModelInputs(batch, config.data.maxSentences, true, 1);
    const loss = tf.tidy(() => {
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), CLASSES);
      const variables = model.store.trainable();
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.apply(inputs, { training: true, random: dropoutRandom }).logits) as tf.Scalar,
        variables,
      );
      optimisers.apply((variable) => grads[variable.name] ?? tf.zerosLike(variable));
      return value;
    });
    loss.dataSync();
    loss.dispose();
    disposeModelInputs(inputs);
  };
  const step = async (): Promise<void> => {
    if (sharded === null) directStep();
    else await sharded.step(batch, true, dropoutRandom.nextUint32(), (gradientOf) => optimisers.apply(gradientOf));
  };

  for (let i = 0; i < Number(options.warmup); i++) await step();
  const stepMs: number[] = [];
  const timings: StepTiming[] = [];
  for (let i = 0; i < Number(options.steps); i++) {
    const started = performance.now();
    await step();
    stepMs.push(performance.now() - started);
    if (sharded?.lastTiming) timings.push(sharded.lastTiming);
  }

  if (options.profile) await printProfile(directStep);
  let memory: { peakTensorBytes: number; estimateBytes: number } | undefined;
  if (options.memory) {
    const profile = await tf.profile(directStep);
    const estimate = estimateWasmTrainingStep(config);
    memory = { peakTensorBytes: profile.peakBytes, estimateBytes: estimate.fixedBytes + batchSize * estimate.perSampleBytes };
  }
  await sharded?.close();
  optimisers.dispose();
  model.dispose();
  const result = {
    stepMs,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    backend: backend.name,
    workers: parallel.workers,
    blasThreads,
    shards: sharded?.plan(batchSize).sizes ?? [batchSize],
    timings,
    memory,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Prints the kernels of one in-thread step by total time to stderr. */
async function printProfile(step: () => void): Promise<void> {
  const profile = await tf.profile(step);
  const byKernel = new Map<string, { milliseconds: number; calls: number }>();
  for (const kernel of profile.kernels) {
    const entry = byKernel.get(kernel.name) ?? { milliseconds: 0, calls: 0 };
    entry.milliseconds += kernel.kernelTimeMs as number;
    entry.calls += 1;
    byKernel.set(kernel.name, entry);
  }
  const total = [...byKernel.values()].reduce((sum, entry) => sum + entry.milliseconds, 0);
  const lines = [`profiled step: ${total.toFixed(0)} ms in ${profile.kernels.length} kernel calls, peak ${(profile.peakBytes / 2 ** 20).toFixed(0)} MiB of tensors`];
  for (const [name, entry] of [...byKernel.entries()].sort((a, b) => b[1].milliseconds - a[1].milliseconds).slice(0, 25)) {
    const share = ((100 * entry.milliseconds) / total).toFixed(1);
    lines.push(`  ${name.padEnd(24)} ${entry.milliseconds.toFixed(1).padStart(8)} ms ${share.padStart(5)}% ${entry.calls} calls`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

await (options.gemm ? measureGemm() : main());
