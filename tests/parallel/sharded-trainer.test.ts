import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { buildModel } from '../../src/model/model.ts';
import { describeParallelPlan, planParallelism, resolveMaxShardSize, resolveWorkerCount } from '../../src/parallel/plan.ts';
import { ShardedTraining } from '../../src/parallel/sharded-training.ts';
import { Random } from '../../src/random.ts';
import { Trainer, type TrainResult } from '../../src/train/train.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';

before(async () => {
  await selectBackend('wasm');
});

/** Trains a fresh tiny model with `workers` gradient workers and returns its history and final weights. */
async function train(config: ExperimentConfig, workers: number): Promise<{ result: TrainResult; weights: Map<string, Float32Array>; tensorCounts: number[] }> {
  const data = tinyData(config, 4);
  const random = new Random(config.seed);
  const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: config.data.maxSentences }, random);
  const sharded = new ShardedTraining({ config, model, backend: 'wasm', workers, maxShardSize: 100 });
  const tensorCounts: number[] = [];
  const trainer = new Trainer({
    config,
    data,
    model,
    random,
    sharded,
    emit: (event) => {
      if (event.type === 'batch-end') tensorCounts.push(tf.memory().numTensors);
    },
  });
  try {
    const result = await trainer.run();
    return { result, weights: model.store.snapshot(), tensorCounts };
  } finally {
    await sharded.close();
    trainer.dispose();
    model.dispose();
  }
}

describe('Trainer with sharded steps', () => {
  test('two workers train and repeat bitwise', async () => {
    const config = tinyConfig({ train: { epochs: 2, batchSize: 8 } });
    const first = await train(config, 2);
    const second = await train(config, 2);

    const losses = first.result.history.map((record) => record.trainLoss);
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite), `losses: ${losses}`);
    assert.deepEqual(second.result.history.map((record) => record.trainLoss), losses);
    for (const [name, values] of first.weights) assert.deepEqual(second.weights.get(name), values, `weights of ${name}`);
  });

  test('live tensors stay constant over steps', async () => {
    const config = tinyConfig({ train: { epochs: 2, batchSize: 4 } });
    const { tensorCounts } = await train(config, 2);
    assert.ok(tensorCounts.length >= 6, `only ${tensorCounts.length} steps ran`);
    assert.equal(new Set(tensorCounts).size, 1, `live tensors per step: ${tensorCounts.join(', ')}`);
  });
});

describe('parallel plan', () => {
  test('auto uses every core on wasm only', () => {
    assert.equal(resolveWorkerCount('auto', 'wasm', 2), 2);
    assert.equal(resolveWorkerCount('auto', 'wasm', 32), 8);
    assert.equal(resolveWorkerCount('auto', 'cpu', 4), 1);
    assert.equal(resolveWorkerCount('auto', 'tensorflow', 4), 1);
    assert.equal(resolveWorkerCount(3, 'cpu', 2), 3);
  });

  test('auto with threaded OpenBLAS follows the shard size', () => {
    assert.equal(resolveWorkerCount('auto', 'wasm', 2, 2), 1);
    assert.equal(resolveWorkerCount('auto', 'wasm', 4, 1), 4);
    assert.equal(resolveWorkerCount(2, 'wasm', 2, 2), 2);
    assert.equal(resolveWorkerCount('auto', 'wasm', 2, 2, 224 * 224 * 4), 2);
    assert.equal(planParallelism(tinyConfig({ train: { workers: 'auto' } }), 'wasm', 2, 2).workers, 1);

    // The BENCHMARKS.md cells: workers at 224 pixels and at 112 with batch 32, threads below.
    const cells: [number, number, number][] = [
      [224, 8, 2],
      [224, 32, 2],
      [112, 32, 2],
      [112, 8, 1],
      [64, 32, 1],
      [64, 16, 1],
      [64, 8, 1],
    ];
    for (const [imageSize, batchSize, expected] of cells) {
      const config = tinyConfig({ data: { imageSize, resizeTo: imageSize }, train: { workers: 'auto', batchSize } });
      assert.equal(planParallelism(config, 'wasm', 2, 2).workers, expected, `${imageSize} pixels, batch ${batchSize}`);
    }
  });

  test('rejects workers on tfjs-node', () => {
    assert.throws(() => resolveWorkerCount(2, 'tensorflow', 4), /cannot run in worker threads/);
    assert.equal(resolveWorkerCount(1, 'tensorflow', 4), 1);
  });

  test('limits shards by the wasm heap', () => {
    const small = tinyConfig();
    const large = tinyConfig({
      data: { imageSize: 224, resizeTo: 224, maxSentences: 16, maxSentenceTokens: 24 },
      model: { backbone: { depth: 16, widenFactor: 4 }, text: { embeddingSize: 128, hiddenSize: 256 }, attention: { size: 256 } },
      train: { batchSize: 64 },
    });
    const largeShard = resolveMaxShardSize(large, 'auto', 'wasm');
    assert.ok(largeShard >= 1, `max shard ${largeShard}`);
    assert.ok(largeShard < 64, `max shard ${largeShard}`);
    assert.ok(resolveMaxShardSize(small, 'auto', 'wasm') > largeShard);
    assert.equal(resolveMaxShardSize(large, 'auto', 'cpu'), Number.MAX_SAFE_INTEGER);
    assert.equal(resolveMaxShardSize(large, 5, 'wasm'), 5);
  });

  test('shards only when needed', () => {
    const config = tinyConfig({ train: { batchSize: 8, workers: 1 } });
    assert.equal(planParallelism(config, 'wasm', 2).sharded, false);
    const microBatched = tinyConfig({ train: { batchSize: 8, workers: 1, microBatchSize: 3 } });
    assert.deepEqual(planParallelism(microBatched, 'wasm', 2), { workers: 1, maxShardSize: 3, sharded: true });
    const record = describeParallelPlan(planParallelism(tinyConfig({ train: { workers: 'auto' } }), 'wasm', 2));
    assert.equal(record.workers, 2);
    assert.match(record.note, /without SyncBatchNorm/);
  });
});
