/**
 * Times one epoch of the default VQA-RAD experiment (configs/vqa-rad.yaml, train.epochs=1) as a run
 * trains it: loading the data, the training steps, and the validation that ends the epoch. It also
 * rebuilds the epoch's batches alone to measure the share of the epoch spent building them (cropping,
 * augmenting and tokenising), the data loading that repeats every epoch.
 *
 * Prints one JSON object. Needs the VQA-RAD data set (see README.md); run by scripts/bench/run.ts, or
 * alone: node --import tsx scripts/bench/epoch.ts [--set key=value ...]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as select from '../../src/backend/select.ts';
import type { BackendName } from '../../src/config/schema.ts';
import { loadData, makeBatch } from '../../src/data/index.ts';
import type { TandemEvent } from '../../src/events.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import { epochBatches, Trainer, type TrainOptions } from '../../src/train/train.ts';
import { benchmarkConfig } from './synthetic.ts';

const { values: options } = parseArgs({ options: { set: { type: 'string', multiple: true, default: [] } } });

/** Starts sharded training when this checkout has it; null when it has not or the plan needs none. */
async function startSharded(
  config: TrainOptions['config'],
  model: TandemNet,
  backend: Awaited<ReturnType<typeof select.selectBackend>>['name'],
  blasThreads: number,
): Promise<{ sharded: unknown; workers: number; close: () => Promise<void> } | null> {
  try {
    const { planParallelism } = await import('../../src/parallel/plan.ts');
    const { ShardedTraining } = await import('../../src/parallel/sharded-training.ts');
    const plan = planParallelism(config, backend, availableParallelism(), blasThreads);
    // Checkouts before the OpenBLAS kernels have no setBlasThreads.
    const setBlasThreads = (select as { setBlasThreads?: (threads: number) => Promise<number> }).setBlasThreads;
    await setBlasThreads?.(plan.workers > 1 ? 1 : availableParallelism());
    if (!plan.sharded) return { sharded: undefined, workers: 1, close: async () => {} };
    const sharded = await ShardedTraining.start({ config, model, backend, workers: plan.workers, maxShardSize: plan.maxShardSize });
    return { sharded, workers: plan.workers, close: () => sharded.close() };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

async function main(): Promise<void> {
  const { config, configDir } = benchmarkConfig(['train.epochs=1', ...(options.set ?? [])]);
  const backend = await select.selectBackend(config.backend as BackendName, { blas: config.blas });

  const loadStarted = performance.now();
  const data = await loadData(config, configDir);
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  const random = new Random(config.seed);
  const model = new TandemNet(
    config.model,
    { vocabularySize: data.vocabulary.size, classes: data.classes.length, sentences: config.data.maxSentences },
    random,
  );
  const parallel = await startSharded(config, model, backend.name, backend.blas?.maxThreads ?? 1);
  let stepSeconds = 0;
  let epochSeconds = 0;
  const emit = (event: TandemEvent): void => {
    if (event.type === 'batch-end') stepSeconds += event.seconds;
    if (event.type === 'epoch-end') epochSeconds = event.seconds;
  };
  const trainOptions = { config, data, model, random, emit, ...(parallel?.sharded ? { sharded: parallel.sharded } : {}) };
  const trainer = new Trainer(trainOptions as TrainOptions);
  await trainer.run();
  trainer.dispose();
  await parallel?.close();
  model.dispose();

  // The trainer draws the shuffle from the 'shuffle' stream and the augmentation from 'augment'.
  const batchRandom = new Random(config.seed);
  const batches = epochBatches(data.train, config.train.batchSize, batchRandom.fork('shuffle'));
  const augmentRandom = batchRandom.fork('augment');
  const buildStarted = performance.now();
  for (const samples of batches) makeBatch(samples, data, { augment: true, random: augmentRandom });
  const batchBuildSeconds = (performance.now() - buildStarted) / 1000;

  const result = {
    backend: backend.name,
    blas: backend.blas?.active ?? false,
    workers: parallel?.workers ?? 1,
    imageSize: config.data.imageSize,
    batchSize: config.train.batchSize,
    trainSamples: data.train.length,
    validationSamples: data.validation.length,
    loadSeconds,
    epochSeconds,
    stepSeconds,
    batchBuildSeconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
