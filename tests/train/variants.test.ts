import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'yaml';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import type { TandemEvent } from '../../src/events.ts';
import { buildModel, type Model } from '../../src/model/model.ts';
import { selectBackend } from '../../src/backend/select.ts';
import { Random } from '../../src/random.ts';
import { Trainer, type TrainResult } from '../../src/train/train.ts';
import { makeExperimentConfig, mergeDeep, type ConfigOverrides } from '../fixtures/experiment-config.ts';
import { tinyData } from '../helpers/tiny-data.ts';

// The pure JavaScript cpu backend takes minutes per ResNet-18 step; wasm takes about a second.
before(async () => {
  await selectBackend('wasm');
});

/** Samples per class and split: 9 training samples make one mini-batch of smoke's batch size 8. */
const PER_CLASS = 3;

/** configs/smoke.yaml with `overrides` merged in; a `backbone` in the overrides replaces smoke's whole. */
function smokeConfig(overrides: ConfigOverrides = {}): ExperimentConfig {
  const smoke = parse(readFileSync(new URL('../../configs/smoke.yaml', import.meta.url), 'utf8')) as ConfigOverrides;
  const merged = mergeDeep(smoke, overrides);
  const backbone = (overrides.model as ConfigOverrides | undefined)?.backbone;
  if (backbone) (merged.model as ConfigOverrides).backbone = backbone;
  return makeExperimentConfig(merged);
}

/** Train `config` on the synthetic data with smoke's sizes; returns the model, the result and the events. */
async function trainOnce(config: ExperimentConfig): Promise<{ model: Model; result: TrainResult; events: TandemEvent[] }> {
  const data = tinyData(config, PER_CLASS);
  const random = new Random(config.seed);
  const shape = { vocabularySize: data.vocabulary.size, classes: 3, sentences: config.data.maxSentences };
  const model = buildModel(config.model, shape, random);
  const events: TandemEvent[] = [];
  const trainer = new Trainer({ config, data, model, random, emit: (event) => events.push(event) });
  const result = await trainer.run();
  trainer.dispose();
  return { model, result, events };
}

/**
 * TandemNet's variants and the attention designs that Zhang et al. (MICCAI 2017) tried, as config
 * overrides. paper-configs.test.ts trains each row of their Table 1, the ResNet-18 ones included.
 */
const VARIANTS: { id: string; overrides: ConfigOverrides }[] = [
  { id: 'TandemNet', overrides: {} },
  { id: 'TandemNet-WVS', overrides: { model: { skipConnection: false } } },
  { id: 'WRN image-only', overrides: { model: { type: 'image-only' } } },
  { id: 'two-score-joint attention', overrides: { model: { attention: { variant: 'two-score-joint' } } } },
  { id: 'separate attention', overrides: { model: { attention: { variant: 'separate' } } } },
  { id: 'text drop rate 0', overrides: { model: { textDropRate: 0 } } },
  { id: 'no test-time text scaling', overrides: { model: { scaleTextAtTest: false } } },
  { id: 'frozen CNN', overrides: { train: { parts: { cnn: { frozen: true } } } } },
];

describe('variants', () => {
  for (const { id, overrides } of VARIANTS) {
    test(`${id} trains one epoch`, async () => {
      const config = smokeConfig({ ...overrides, train: mergeDeep({ epochs: 1 }, (overrides.train as ConfigOverrides) ?? {}) });
      const { model, result } = await trainOnce(config);
      assert.equal(result.history.length, 1);
      const [epoch] = result.history;
      assert.ok(Number.isFinite(epoch.trainLoss), `train loss ${epoch.trainLoss}`);
      assert.ok(Number.isFinite(epoch.validation.loss), `validation loss ${epoch.validation.loss}`);
      if (config.model.type === 'image-only') {
        assert.equal(epoch.validation.accuracyWithText, null);
      } else {
        assert.equal(typeof epoch.validation.accuracyWithText, 'number');
      }
      model.dispose();
    });
  }
});

describe('per-part training settings', () => {
  test('frozen CNN keeps weights and statistics', async () => {
    const config = smokeConfig({ train: { epochs: 1, parts: { cnn: { frozen: true } } } });
    const data = tinyData(config, PER_CLASS);
    const random = new Random(config.seed);
    const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 6 }, random);
    const before = model.store.snapshot();
    const trainer = new Trainer({ config, data, model, random, emit: () => {} });
    const result = await trainer.run();
    trainer.dispose();
    const after = model.store.snapshot();
    for (const [name, values] of before) {
      if (name.startsWith('backbone.')) assert.deepEqual(after.get(name), values, `${name} changed`);
    }
    assert.ok(after.has('backbone.finalNorm.runningMean'));
    assert.notDeepEqual(after.get('classifier.weight'), before.get('classifier.weight'));
    assert.deepEqual(Object.keys(result.history[0].learningRates), ['text', 'attention', 'classifier']);
    model.dispose();
  });

  test('learning-rate scale applies and decays', async () => {
    const config = smokeConfig({ train: { epochs: 2, parts: { cnn: { learningRateScale: 0.1 }, classifier: { learningRateScale: 3 } } } });
    const { model, result } = await trainOnce(config);
    const [first, second] = result.history.map((epoch) => epoch.learningRates);
    assert.ok(Math.abs(first.cnn! - 1e-3) < 1e-12, `cnn ${first.cnn}`);
    assert.ok(Math.abs(first.text! - 1e-4) < 1e-12, `text ${first.text}`);
    assert.ok(Math.abs(first.classifier! - 3e-4) < 1e-12, `classifier ${first.classifier}`);
    assert.ok(Math.abs(second.cnn! - 0.9e-3) < 1e-12, `cnn ${second.cnn}`);
    assert.ok(Math.abs(second.classifier! - 2.7e-4) < 1e-12, `classifier ${second.classifier}`);
    assert.equal(result.history[1].cnnLearningRate, 0.01 * 0.9);
    model.dispose();
  });

  test('image-only model never reads text', async () => {
    const config = smokeConfig({ model: { type: 'image-only' }, train: { epochs: 1 } });
    const { model, result, events } = await trainOnce(config);
    assert.equal(result.history[0].textDroppedShare, 0);
    const batches = events.filter((event) => event.type === 'batch-end');
    assert.ok(batches.length > 0);
    assert.ok(batches.every((event) => event.type === 'batch-end' && !event.textDropped));
    assert.deepEqual(Object.keys(result.history[0].learningRates), ['cnn', 'classifier']);
    model.dispose();
  });

  test('image-only training leaks no tensors', async () => {
    const config = smokeConfig({ model: { type: 'image-only' }, train: { epochs: 2, batchSize: 4, parts: { cnn: { learningRateScale: 0.5 } } } });
    const data = tinyData(config, PER_CLASS);
    const random = new Random(config.seed);
    const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 6 }, random);
    const counts: number[] = [];
    const emit = (event: TandemEvent) => {
      if (event.type === 'batch-end') counts.push(tf.memory().numTensors);
    };
    const trainer = new Trainer({ config, data, model, random, emit });
    await trainer.run();
    trainer.dispose();
    assert.ok(counts.length >= 4, `only ${counts.length} steps ran`);
    assert.equal(new Set(counts).size, 1, `live tensors per step: ${counts.join(', ')}`);
    model.dispose();
  });

  test('every part frozen is rejected', () => {
    const config = smokeConfig({ model: { type: 'image-only' }, train: { parts: { cnn: { frozen: true }, classifier: { frozen: true } } } });
    const data = tinyData(config, 1);
    const random = new Random(1);
    const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 6 }, random);
    assert.throws(() => new Trainer({ config, data, model, random, emit: () => {} }), /Every model part with parameters is frozen/);
    model.dispose();
  });
});
