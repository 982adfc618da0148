import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { TandemEvent } from '../../src/events.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import { Adam, clipByGlobalNorm, SgdMomentum } from '../../src/train/optimizers.ts';
import { epochBatches, Trainer } from '../../src/train/train.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('optimisers', () => {
  test('SGD with momentum and weight decay matches Torch', () => {
    const weight = tf.variable(tf.scalar(1));
    const sgd = new SgdMomentum([weight], 0.1, 0.9, 0.1);
    sgd.step([tf.scalar(0.5)]);
    // d = 0.5 + 0.1 * 1 = 0.6, v = 0.6, w = 1 - 0.1 * 0.6
    assert.ok(Math.abs(weight.dataSync()[0] - 0.94) < 1e-6);
    sgd.step([tf.scalar(0.5)]);
    // d = 0.5 + 0.094 = 0.594, v = 0.9 * 0.6 + 0.594 = 1.134, w = 0.94 - 0.1134
    assert.ok(Math.abs(weight.dataSync()[0] - 0.8266) < 1e-6);
    sgd.dispose();
    weight.dispose();
  });

  test('Adam first step moves by the learning rate', () => {
    const weight = tf.variable(tf.tensor1d([1, -2]));
    const adam = new Adam([weight], 0.1, 0.8, 0.999, 1e-8);
    adam.step([tf.tensor1d([0.5, -3])]);
    const [a, b] = weight.dataSync();
    assert.ok(Math.abs(a - 0.9) < 1e-6, `got ${a}`);
    assert.ok(Math.abs(b - -1.9) < 1e-6, `got ${b}`);
    adam.dispose();
    weight.dispose();
  });

  test('global norm clipping scales all gradients together', () => {
    const { clipped, norm } = clipByGlobalNorm([tf.tensor1d([3]), tf.tensor1d([4])], 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    assert.ok(Math.abs(clipped[0].dataSync()[0] - 0.6) < 1e-6);
    assert.ok(Math.abs(clipped[1].dataSync()[0] - 0.8) < 1e-6);
    const small = clipByGlobalNorm([tf.tensor1d([0.03])], 1);
    assert.ok(Math.abs(small.clipped[0].dataSync()[0] - 0.03) < 1e-7);
  });
});

describe('epoch batches', () => {
  test('cover every sample once and never leave a batch of one', () => {
    const config = tinyConfig();
    const samples = tinyData(config, 3).train.slice(0, 17 - 9).concat(tinyData(config, 3).test);
    const batches = epochBatches(samples, 8, new Random(1));
    assert.deepEqual(batches.map((b) => b.length), [8, 9]);
    const ids = batches.flat().map((s) => s.id);
    assert.deepEqual([...ids].sort(), samples.map((s) => s.id).sort());
  });
});

describe('trainer', () => {
  test('live tensors do not grow over training steps', async () => {
    const config = tinyConfig({ train: { epochs: 2, batchSize: 4 } });
    const data = tinyData(config, 4);
    const random = new Random(config.seed);
    const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 3 }, random);
    const counts: number[] = [];
    const trainer = new Trainer({
      config,
      data,
      model,
      random,
      emit: (event) => {
        if (event.type === 'batch-end') counts.push(tf.memory().numTensors);
      },
    });
    await trainer.run();
    assert.ok(counts.length >= 6, `only ${counts.length} steps ran`);
    assert.deepEqual(new Set(counts).size, 1, `live tensors per step: ${counts.join(', ')}`);
    trainer.dispose();
    model.dispose();
  });

  test('loss falls and stays finite, best weights are kept', async () => {
    const config = tinyConfig({
      train: { epochs: 6, batchSize: 6, others: { learningRate: 3e-3 } },
      model: { textDropRate: 0.5 },
    });
    const data = tinyData(config, 6);
    const random = new Random(config.seed);
    const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 3 }, random);
    const events: TandemEvent[] = [];
    const trainer = new Trainer({ config, data, model, random, emit: (event) => events.push(event) });
    const result = await trainer.run();
    const losses = result.history.map((r) => r.trainLoss);
    assert.ok(losses.every(Number.isFinite), `losses: ${losses}`);
    assert.ok(losses[losses.length - 1] < losses[0], `losses: ${losses}`);
    const best = Math.max(...result.history.map((r) => r.validation.accuracyWithoutText));
    assert.equal(result.history[result.bestEpoch - 1].validation.accuracyWithoutText, best);
    assert.ok(best > 1 / 3, `best validation accuracy ${best} is not above chance`);
    assert.equal(events.filter((e) => e.type === 'epoch-end').length, 6);
    trainer.dispose();
    model.dispose();
  });

  test('stops after the current step when aborted', async () => {
    const config = tinyConfig({ train: { epochs: 3, batchSize: 4 } });
    const data = tinyData(config, 4);
    const random = new Random(config.seed);
    const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 3 }, random);
    const controller = new AbortController();
    let steps = 0;
    const trainer = new Trainer({
      config,
      data,
      model,
      random,
      signal: controller.signal,
      emit: (event) => {
        if (event.type === 'batch-end' && ++steps === 2) controller.abort();
      },
    });
    const result = await trainer.run();
    assert.equal(result.interrupted, true);
    assert.equal(steps, 2);
    assert.equal(result.history.length, 0);
    trainer.dispose();
    model.dispose();
  });
});
