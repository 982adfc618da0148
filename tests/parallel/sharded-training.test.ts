import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { makeBatch, type Batch, type PreparedData } from '../../src/data/index.ts';
import { buildModel, type Model } from '../../src/model/model.ts';
import { computeShardGradients, describeShardLayout, shardRandom, variablesByName } from '../../src/parallel/gradients.ts';
import { combineShards, ShardedTraining, type ShardedStepResult } from '../../src/parallel/sharded-training.ts';
import { planShards, sliceBatch, splitBatch } from '../../src/parallel/shards.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';

before(async () => {
  await selectBackend('wasm');
});

/** A tiny model with the weights that `seed` draws, and a training batch of `size` samples. */
function setUp(config: ExperimentConfig, size: number, seed = 3): { model: Model; data: PreparedData; batch: Batch } {
  const data = tinyData(config, 4);
  const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: config.data.maxSentences }, new Random(seed));
  const batch = makeBatch(data.train.slice(0, size), data, { augment: true, random: new Random(seed + 1) });
  return { model, data, batch };
}

function assertBitwiseEqual(actual: Float32Array[], expected: Float32Array[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: number of arrays`);
  for (let i = 0; i < expected.length; i++) {
    assert.deepEqual(actual[i], expected[i], `${label}: array ${i} differs`);
  }
}

function maxRelativeError(actual: Float32Array[], expected: Float32Array[]): number {
  let difference = 0;
  let reference = 0;
  for (let i = 0; i < expected.length; i++) {
    for (let k = 0; k < expected[i].length; k++) {
      difference = Math.max(difference, Math.abs(actual[i][k] - expected[i][k]));
      reference = Math.max(reference, Math.abs(expected[i][k]));
    }
  }
  return reference === 0 ? difference : difference / reference;
}

describe('planShards', () => {
  test('splits evenly between workers', () => {
    assert.deepEqual(planShards(16, 2, 100), { sizes: [8, 8], workerOf: [0, 1] });
    assert.deepEqual(planShards(9, 2, 100), { sizes: [5, 4], workerOf: [0, 1] });
  });

  test('adds micro-batches above the shard limit', () => {
    assert.deepEqual(planShards(32, 2, 6), { sizes: [6, 6, 5, 5, 5, 5], workerOf: [0, 0, 0, 1, 1, 1] });
    assert.deepEqual(planShards(10, 1, 4), { sizes: [4, 3, 3], workerOf: [0, 0, 0] });
  });

  test('keeps two samples per shard', () => {
    assert.deepEqual(planShards(3, 2, 100), { sizes: [3], workerOf: [0] });
    assert.deepEqual(planShards(5, 4, 100), { sizes: [3, 2], workerOf: [0, 1] });
    assert.deepEqual(planShards(6, 1, 1), { sizes: [2, 2, 2], workerOf: [0, 0, 0] });
    assert.deepEqual(planShards(1, 2, 1), { sizes: [1], workerOf: [0] });
  });

  test('rejects invalid counts', () => {
    assert.throws(() => planShards(0, 1, 1), /batchSize/);
    assert.throws(() => planShards(4, 0, 1), /workers/);
    assert.throws(() => planShards(4, 1, 0), /maxShardSize/);
  });
});

describe('sliceBatch', () => {
  test('copies samples and trims unused time steps', () => {
    const config = tinyConfig();
    const { batch, model } = setUp(config, 8);
    model.dispose();
    const sentences = config.data.maxSentences;
    // The tiny data set gives samples with one and with two sentences, so reports differ in length.
    const shard = sliceBatch(batch, 2, 3, sentences);
    assert.equal(shard.size, 3);
    assert.deepEqual(shard.labels, batch.labels.slice(2, 5));
    const pixels = batch.imageSize * batch.imageSize * 3;
    assert.deepEqual(shard.images, batch.images.slice(2 * pixels, 5 * pixels));
    assert.ok(shard.steps <= batch.steps);
    for (let sample = 0; sample < 3; sample++) {
      for (let slot = 0; slot < sentences; slot++) {
        const index = sample * sentences + slot;
        if (shard.sentenceMask[index] === 0) continue;
        assert.ok(shard.sentencePositions[index] < shard.steps, 'a sentence ends after the trimmed steps');
      }
      for (let step = 0; step < shard.steps; step++) {
        assert.equal(shard.tokens[sample * shard.steps + step], batch.tokens[(2 + sample) * batch.steps + step]);
      }
    }
  });

  test('rejects a shard outside the batch', () => {
    const config = tinyConfig();
    const { batch, model } = setUp(config, 4);
    model.dispose();
    assert.throws(() => sliceBatch(batch, 3, 2, config.data.maxSentences), /outside the batch/);
    assert.throws(() => splitBatch(batch, { sizes: [2, 1], workerOf: [0, 0] }, config.data.maxSentences), /covers 3 samples/);
  });
});

describe('ShardedTraining', () => {
  const started: ShardedTraining[] = [];
  after(async () => {
    await Promise.all(started.map((training) => training.close()));
  });

  async function start(config: ExperimentConfig, model: Model, workers: number, maxShardSize: number): Promise<ShardedTraining> {
    const training = await ShardedTraining.start({ config, model, backend: 'wasm', workers, maxShardSize });
    started.push(training);
    return training;
  }

  test('two workers equal one worker on the same shards', async () => {
    const config = tinyConfig();
    const { model, batch } = setUp(config, 8);
    const twoWorkers = await start(config, model, 2, 100);
    const oneWorker = await start(config, model, 1, 4);
    assert.deepEqual(twoWorkers.plan(8), { sizes: [4, 4], workerOf: [0, 1] });
    assert.deepEqual(oneWorker.plan(8).sizes, [4, 4]);

    for (const withText of [true, false]) {
      const parallel = await twoWorkers.computeStep(batch, withText, 99);
      const sequential = await oneWorker.computeStep(batch, withText, 99);
      assert.equal(parallel.loss, sequential.loss, `loss with text ${withText}`);
      assert.deepEqual(parallel.predictions, sequential.predictions);
      assertBitwiseEqual(parallel.gradients, sequential.gradients, `gradients with text ${withText}`);
      assertBitwiseEqual(parallel.buffers, sequential.buffers, `buffers with text ${withText}`);
    }
    await twoWorkers.close();
    model.dispose();
  });

  test('workers equal the weighted mean of per-shard gradients', async () => {
    const config = tinyConfig();
    const { model, batch } = setUp(config, 6);
    const training = await start(config, model, 2, 100);
    const result = await training.computeStep(batch, true, 7);

    const layout = describeShardLayout(model, config);
    const variables = variablesByName(model.store);
    const plan = training.plan(batch.size);
    const before = variables.get(layout.buffers[0])!.dataSync().slice();
    const shards = splitBatch(batch, plan, config.data.maxSentences).map((shard, index) => {
      const shardResult = computeShardGradients(model, shard, {
        layout,
        variables,
        withText: true,
        sentences: config.data.maxSentences,
        random: shardRandom(7, index),
      });
      // Each shard starts from the same batch norm statistics, as on the workers.
      tf.tidy(() => variables.get(layout.buffers[0])!.assign(tf.tensor(before, variables.get(layout.buffers[0])!.shape)));
      return shardResult;
    });
    const expected: ShardedStepResult = combineShards(shards, plan);
    assert.equal(result.loss, expected.loss);
    assertBitwiseEqual(result.gradients, expected.gradients, 'gradients');
    assert.deepEqual(result.buffers[0], expected.buffers[0]);
    model.dispose();
  });

  test('same seed gives identical steps', async () => {
    const config = tinyConfig();
    const { model, batch } = setUp(config, 8);
    const training = await start(config, model, 2, 100);
    const first = await training.computeStep(batch, true, 5);
    const second = await training.computeStep(batch, true, 5);
    const otherSeed = await training.computeStep(batch, true, 6);
    assertBitwiseEqual(second.gradients, first.gradients, 'gradients');
    assert.notDeepEqual(otherSeed.gradients, first.gradients, 'another seed draws other dropout masks');
    model.dispose();
  });

  test('micro-batches equal the whole batch without batch norm statistics', async () => {
    // A frozen CNN runs batch norm on its running statistics, and with dropout off every other layer
    // treats samples independently, so the mean of the micro-batches' gradients is the batch's gradient.
    const config = tinyConfig({
      model: { backbone: { dropout: 0 }, text: { dropout: 0 }, attention: { dropout: 0 }, classifierDropout: 0 },
      train: { parts: { cnn: { frozen: true } } },
    });
    const { model, batch } = setUp(config, 8);
    const whole = await start(config, model, 1, 8);
    const micro = await start(config, model, 1, 3);
    assert.deepEqual(micro.plan(8).sizes, [3, 3, 2]);
    for (const withText of [true, false]) {
      const expected = await whole.computeStep(batch, withText, 11);
      const actual = await micro.computeStep(batch, withText, 11);
      assert.ok(Math.abs(actual.loss - expected.loss) < 1e-6 * Math.abs(expected.loss), `loss ${actual.loss} vs ${expected.loss}`);
      assert.deepEqual(actual.predictions, expected.predictions);
      const error = maxRelativeError(actual.gradients, expected.gradients);
      assert.ok(error < 1e-5, `relative gradient error ${error} with text ${withText}`);
    }
    model.dispose();
  });

  test('step applies gradients and stores statistics', async () => {
    const config = tinyConfig();
    const { model, batch } = setUp(config, 8);
    const training = await start(config, model, 2, 100);
    const expected = await training.computeStep(batch, true, 21);
    const applied = new Map<string, Float32Array>();
    const outcome = await training.step(batch, true, 21, (gradientOf) => {
      for (const variable of model.store.trainable()) applied.set(variable.name, gradientOf(variable).dataSync() as Float32Array);
    });
    assert.equal(outcome.loss, expected.loss);
    const correct = [...expected.predictions].filter((predicted, index) => predicted === batch.labels[index]).length;
    assert.equal(outcome.correct, correct);
    const trained = model.store.trainable();
    assert.deepEqual(applied.get(trained[0].name), expected.gradients[0]);
    const layout = describeShardLayout(model, config);
    const buffer = variablesByName(model.store).get(layout.buffers[0])!;
    assert.deepEqual(buffer.dataSync(), expected.buffers[0]);
    model.dispose();
  });

  test('a failing worker rejects the step', async () => {
    const config = tinyConfig();
    const { model, batch } = setUp(config, 4);
    const training = await start(config, model, 2, 100);
    // A batch whose images do not match imageSize makes the workers' tensor4d throw.
    const broken = { ...batch, images: batch.images.subarray(0, 10) };
    await assert.rejects(training.computeStep(broken, true, 1), /Gradient worker \d failed/);
    await assert.rejects(training.computeStep(batch, true, 1), /Gradient worker \d failed/);
    model.dispose();
  });
});
