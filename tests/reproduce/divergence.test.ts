import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ParameterStore } from '../../src/model/parameters.ts';
import { Random } from '../../src/random.ts';
import { readCheckpoint } from '../../src/train/checkpoint.ts';
import { checkStep, findNonFiniteParameter } from '../../src/train/divergence.ts';
import { onlyRunFolder, readEvents, readJson, smokeConfig, tandem } from './helpers.ts';

describe('divergence check', () => {
  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });

  test('finds a NaN or an infinity in any parameter', () => {
    const store = new ParameterStore(new Random(1));
    store.parameter('first', [2, 3], 'cnn', { kind: 'normal', std: 1 });
    const second = store.parameter('second', [4], 'classifier', { kind: 'constant', value: 1e38 });
    assert.equal(findNonFiniteParameter(store), null, 'large finite values are finite');
    for (const bad of [NaN, Infinity, -Infinity]) {
      second.assign(tf.tensor1d([1, 2, bad, 4]));
      assert.equal(findNonFiniteParameter(store), 'second');
    }
    store.dispose();
  });

  test('reports a non-finite loss before looking at the weights', () => {
    const store = new ParameterStore(new Random(1));
    store.parameter('weight', [2], 'cnn', { kind: 'constant', value: 0 });
    assert.deepEqual(checkStep(NaN, store, 3, 7), { epoch: 3, step: 7, reason: 'the training loss is NaN' });
    assert.deepEqual(checkStep(Infinity, store, 1, 1)?.reason, 'the training loss is Infinity');
    assert.equal(checkStep(0.5, store, 1, 1), null);
    store.dispose();
  });

  test('leaks no tensors', () => {
    const store = new ParameterStore(new Random(1));
    store.parameter('weight', [8], 'cnn', { kind: 'normal', std: 1 });
    const before = tf.memory().numTensors;
    findNonFiniteParameter(store);
    assert.equal(tf.memory().numTensors, before);
    store.dispose();
  });
});

describe('diverged run', () => {
  test('an absurd learning rate stops the run as diverged and keeps the checkpoint', () => {
    // With Adam at 1e25 on smoke.yaml, the first epoch stays finite and a weight overflows in the second
    // (measured on the wasm backend). If a model change moves that point, the epoch assertion says so.
    const { file, results } = smokeConfig((config) => {
      config.train = { ...config.train, epochs: 3, others: { learningRate: 1e25 } };
    });
    const result = tandem(['run', file]);
    assert.equal(result.status, 3, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /Training diverged at epoch \d+, step \d+: /);

    const runDir = onlyRunFolder(results)!;
    const record = readJson(path.join(runDir, 'run.json'));
    assert.equal(record.status, 'diverged');
    const { epoch, step, reason, checkpointEpoch } = record.divergence;
    assert.ok(epoch >= 2, `diverged in epoch ${epoch}; choose a learning rate that lets epoch 1 finish`);
    assert.ok(step >= 1);
    assert.match(reason, /NaN|Infinity|infinite/);
    assert.equal(checkpointEpoch, epoch - 1);
    assert.ok(!existsSync(path.join(runDir, 'metrics.json')), 'no test metrics are written');
    assert.ok(!existsSync(path.join(runDir, 'COMPLETE')), 'the run is not marked complete');
    assert.equal(readJson(path.join(runDir, 'history.json')).length, epoch - 1);

    const checkpoints = readdirSync(path.join(runDir, 'checkpoints'));
    assert.deepEqual(checkpoints, [`epoch-${String(epoch - 1).padStart(4, '0')}`]);
    const checkpoint = readCheckpoint(path.join(runDir, 'checkpoints', checkpoints[0]));
    for (const [name, tensor] of checkpoint.state.parameters) {
      assert.ok(tensor.values.every(Number.isFinite), `the kept checkpoint has a non-finite value in ${name}`);
    }

    const lastEvent = readEvents(runDir).pop();
    assert.equal(lastEvent.type, 'run-diverged');
    assert.equal(lastEvent.checkpointEpoch, epoch - 1);

    const resumed = tandem(['run', '--resume', runDir]);
    assert.equal(resumed.status, 1, resumed.stderr);
    assert.match(resumed.stderr, /diverged at epoch \d+, step \d+, and resuming it with the same settings would diverge again/);
  });
});
