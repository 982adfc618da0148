import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import {
  CheckpointError,
  readCheckpoint,
  readLatestCheckpoint,
  writeCheckpoint,
  type TrainingState,
} from '../../src/train/checkpoint.ts';
import { Trainer, type EpochRecord } from '../../src/train/train.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';
import { temporaryFolder } from './helpers.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

/** Dropout and text drop on, so that every random stream matters. */
function trainingConfig(): ExperimentConfig {
  return tinyConfig({ train: { epochs: 3, batchSize: 6 }, model: { textDropRate: 0.5 } });
}

interface Outcome {
  weights: Map<string, Float32Array>;
  history: Omit<EpochRecord, 'seconds'>[];
  bestEpoch: number;
}

/**
 * Train a fresh model of `config`. `stopAfterEpoch` aborts training during the epoch after it, as Ctrl-C
 * would; `resume` continues from a checkpoint; `checkpointsDir` receives a checkpoint after every epoch.
 */
async function train(
  config: ExperimentConfig,
  options: { checkpointsDir?: string; stopAfterEpoch?: number; resume?: TrainingState } = {},
): Promise<Outcome> {
  const data = tinyData(config, 4);
  const random = new Random(config.seed);
  const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 3 }, random);
  const controller = new AbortController();
  const trainer = new Trainer({
    config,
    data,
    model,
    random,
    signal: controller.signal,
    resume: options.resume,
    emit: () => {},
    onEpochEnd: async (state) => {
      if (options.checkpointsDir) await writeCheckpoint(options.checkpointsDir, state, 'config-hash');
      if (state.epoch === options.stopAfterEpoch) controller.abort();
    },
  });
  const result = await trainer.run();
  const outcome = {
    weights: model.store.snapshot(),
    history: result.history.map(({ seconds, ...rest }) => rest),
    bestEpoch: result.bestEpoch,
  };
  trainer.dispose();
  model.dispose();
  return outcome;
}

function assertSameWeights(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()]);
  for (const [name, values] of expected) {
    assert.ok(Buffer.from(actual.get(name)!.buffer).equals(Buffer.from(values.buffer)), `${name} differs`);
  }
}

describe('checkpoint', () => {
  test('resumed training ends with the weights of uninterrupted training', async () => {
    const config = trainingConfig();
    const uninterrupted = await train(config);

    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    const stopped = await train(config, { checkpointsDir, stopAfterEpoch: 1 });
    assert.equal(stopped.history.length, 1);
    const { checkpoint } = readLatestCheckpoint(checkpointsDir);
    assert.equal(checkpoint?.state.epoch, 1);

    const resumed = await train(config, { checkpointsDir, resume: checkpoint!.state });
    assertSameWeights(resumed.weights, uninterrupted.weights);
    assert.deepEqual(resumed.history, uninterrupted.history);
    assert.equal(resumed.bestEpoch, uninterrupted.bestEpoch);
  });

  test('reads back bitwise what it wrote', async () => {
    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    let written: TrainingState | null = null;
    const config = trainingConfig();
    const data = tinyData(config, 4);
    const random = new Random(config.seed);
    const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 3 }, random);
    const trainer = new Trainer({
      config: { ...config, train: { ...config.train, epochs: 1 } },
      data,
      model,
      random,
      emit: () => {},
      onEpochEnd: async (state) => {
        written = state;
        await writeCheckpoint(checkpointsDir, state, 'config-hash');
      },
    });
    await trainer.run();
    trainer.dispose();
    model.dispose();

    const loaded = readCheckpoint(path.join(checkpointsDir, 'epoch-0001'));
    const expected = written as unknown as TrainingState;
    assert.equal(loaded.configSha256, 'config-hash');
    assert.equal(loaded.state.epoch, 1);
    assert.deepEqual(loaded.state.history, expected.history);
    assert.deepEqual(loaded.state.random, expected.random);
    assert.deepEqual(Object.keys(loaded.state.random).sort(), ['augment', 'dropout', 'shuffle', 'text-drop']);
    assert.deepEqual(loaded.state.learningRates, expected.learningRates);
    assert.equal(loaded.state.bestEpoch, 1);
    assert.equal(loaded.state.bestScore, expected.bestScore);
    for (const group of ['parameters', 'bestWeights'] as const) {
      for (const [name, tensor] of expected[group]!) {
        const read = loaded.state[group]!.get(name)!;
        assert.deepEqual(read.shape, tensor.shape, `${group} ${name}`);
        assert.ok(Buffer.from(read.values.buffer).equals(Buffer.from(tensor.values.buffer)), `${group} ${name} differs`);
      }
    }
    for (const [name, optimizer] of Object.entries(expected.optimizers)) {
      const read = loaded.state.optimizers[name];
      assert.equal(read.learningRate, optimizer.learningRate);
      assert.equal(read.stepCount, optimizer.stepCount);
      assert.deepEqual([...read.tensors.keys()], [...optimizer.tensors.keys()]);
    }
    assert.ok(loaded.state.optimizers.text.stepCount! > 0, "Adam's step count is saved");
  });

  test('the tensor file is valid safetensors', async () => {
    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    await train({ ...trainingConfig(), train: { ...trainingConfig().train, epochs: 1 } }, { checkpointsDir });
    const file = parseSafetensors(readFileSync(path.join(checkpointsDir, 'epoch-0001', 'tensors.safetensors')));
    const names = [...file.tensors.keys()];
    assert.ok(names.some((name) => name.startsWith('parameters/')));
    assert.ok(names.some((name) => name.startsWith('best/')));
    assert.ok(names.some((name) => name.startsWith('optimizers/cnn/velocity.')));
    assert.ok(names.some((name) => name.startsWith('optimizers/classifier/firstMoment.')));
    assert.equal(file.metadata.format, 'tandem-checkpoint');
  });

  test('writing removes older checkpoints and leftover temporary folders', async () => {
    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    mkdirSync(path.join(checkpointsDir, '.epoch-0001.tmp-99999'), { recursive: true });
    await train(trainingConfig(), { checkpointsDir });
    assert.deepEqual(readdirSync(checkpointsDir), ['epoch-0003']);
  });
});

describe('damaged checkpoint', () => {
  /** Valid checkpoints of epochs 1 and 2 side by side, as a kill between the rename and the removal leaves them. */
  let original = '';

  before(async () => {
    original = path.join(temporaryFolder(), 'checkpoints');
    const keep = path.join(temporaryFolder(), 'epoch-0001');
    const config = { ...trainingConfig(), train: { ...trainingConfig().train, epochs: 2 } };
    await train(config, { checkpointsDir: original, stopAfterEpoch: 1 });
    cpSync(path.join(original, 'epoch-0001'), keep, { recursive: true });
    const { checkpoint } = readLatestCheckpoint(original);
    await train(config, { checkpointsDir: original, resume: checkpoint!.state });
    cpSync(keep, path.join(original, 'epoch-0001'), { recursive: true });
  });

  /** Copy the two checkpoints into a new folder for a test to damage. */
  async function twoCheckpoints(): Promise<string> {
    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    cpSync(original, checkpointsDir, { recursive: true });
    assert.deepEqual(readdirSync(checkpointsDir).sort(), ['epoch-0001', 'epoch-0002']);
    return checkpointsDir;
  }

  test('the newest valid checkpoint wins', async () => {
    const checkpointsDir = await twoCheckpoints();
    const { checkpoint, skipped } = readLatestCheckpoint(checkpointsDir);
    assert.equal(checkpoint?.state.epoch, 2);
    assert.deepEqual(skipped, []);
  });

  test('a truncated tensor file falls back to the previous checkpoint', async () => {
    const checkpointsDir = await twoCheckpoints();
    const tensors = path.join(checkpointsDir, 'epoch-0002', 'tensors.safetensors');
    truncateSync(tensors, 1000);
    const { checkpoint, skipped } = readLatestCheckpoint(checkpointsDir);
    assert.equal(checkpoint?.state.epoch, 1);
    assert.equal(skipped.length, 1);
    assert.match(skipped[0], /tensors\.safetensors has 1000 bytes, and the manifest expects \d+/);
  });

  test('a changed byte fails the hash', async () => {
    const checkpointsDir = await twoCheckpoints();
    const tensors = path.join(checkpointsDir, 'epoch-0002', 'tensors.safetensors');
    const bytes = readFileSync(tensors);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(tensors, bytes);
    assert.throws(() => readCheckpoint(path.join(checkpointsDir, 'epoch-0002')), (error: Error) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /the SHA-256 of tensors\.safetensors does not match the manifest/);
      return true;
    });
  });

  test('a torn manifest is detected', async () => {
    const checkpointsDir = await twoCheckpoints();
    const manifest = path.join(checkpointsDir, 'epoch-0002', 'checkpoint.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').slice(0, 200));
    assert.throws(() => readCheckpoint(path.join(checkpointsDir, 'epoch-0002')), /checkpoint\.json could not be read as JSON/);
  });

  test('a checkpoint of another model shape is rejected', async () => {
    const checkpointsDir = path.join(temporaryFolder(), 'checkpoints');
    const config = trainingConfig();
    await train({ ...config, train: { ...config.train, epochs: 1 } }, { checkpointsDir });
    const { checkpoint } = readLatestCheckpoint(checkpointsDir);
    const wider = tinyConfig({ train: { epochs: 2, batchSize: 6 }, model: { attention: { size: 12 } } });
    await assert.rejects(train(wider, { resume: checkpoint!.state }), /The checkpoint does not fit the model: .* has shape \[.*\] in the checkpoint/);
  });
});
