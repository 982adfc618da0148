import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ImageOnlyNet } from '../../src/model/image-only.ts';
import { buildModel, MODELS } from '../../src/model/model.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const evaluation = { training: false, random: new Random(0) };
const shape = { vocabularySize: 10, classes: 3, sentences: 3 };

describe('image-only model', () => {
  test('classifies pooled features', () => {
    const config = tinyConfig({ model: { type: 'image-only' } });
    const model = buildModel(config.model, shape, new Random(9));
    assert.ok(model instanceof ImageOnlyNet);
    assert.equal(model.readsText, false);
    const images = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = model.apply({ images, text: null, sentenceMask: null, textScale: 1 }, evaluation);
    assert.deepEqual(out.logits.shape, [2, 3]);
    // WRN-10-1 has 64 channels; at 32 pixels its feature map is 2 x 2.
    assert.deepEqual(out.classifierInput.shape, [2, 64]);
    const pooled = tf.mean(model.backbone.apply(images, evaluation), [1, 2]).arraySync() as number[][];
    (out.classifierInput.arraySync() as number[][]).flat().forEach((value, i) => assert.ok(Math.abs(value - pooled.flat()[i]) < 1e-6));
    assert.deepEqual(out.imageWeights.arraySync(), [
      [0.25, 0.25, 0.25, 0.25],
      [0.25, 0.25, 0.25, 0.25],
    ]);
    assert.deepEqual(out.textWeights.arraySync(), [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    model.dispose();
  });

  test('has only CNN and classifier parameters', () => {
    const config = tinyConfig({ model: { type: 'image-only' } });
    const model = buildModel(config.model, shape, new Random(9));
    const { byPart } = model.store.countParameters();
    assert.equal(byPart.text, 0);
    assert.equal(byPart.attention, 0);
    assert.equal(byPart.classifier, 64 * 3 + 3);
    model.dispose();
  });

  test('same backbone weights as TandemNet for one seed', () => {
    const tandem = buildModel(tinyConfig().model, shape, new Random(9));
    const imageOnly = buildModel(tinyConfig({ model: { type: 'image-only' } }).model, shape, new Random(9));
    assert.ok(tandem instanceof TandemNet);
    const tandemWeights = tandem.store.snapshot();
    for (const [name, values] of imageOnly.store.snapshot()) {
      if (name.startsWith('backbone.')) assert.deepEqual(values, tandemWeights.get(name), name);
    }
    tandem.dispose();
    imageOnly.dispose();
  });

  test('registry lists every model type', () => {
    assert.deepEqual(Object.keys(MODELS), ['tandem', 'image-only']);
    const config = { ...tinyConfig().model, type: 'text-only' as 'tandem' };
    assert.throws(() => buildModel(config, shape, new Random(1)), /Unknown model type "text-only"\. Known types: tandem, image-only\./);
  });
});
