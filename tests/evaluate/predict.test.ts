import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeBatch } from '../../src/data/index.ts';
import { predict, testTextScale } from '../../src/evaluate/evaluate.ts';
import { disposeModelInputs, toModelInputs } from '../../src/model/inputs.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

// imageSize 32 with the WRN's total stride of 16 gives a 2 x 2 feature map; batch size 5 leaves a partial last batch.
const config = tinyConfig({ data: { imageSize: 32, resizeTo: 36 }, train: { batchSize: 5 } });
const data = tinyData(config, 4);
const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: config.data.maxSentences }, new Random(3));
after(() => model.dispose());

describe('predict analysis values', () => {
  test('classifier inputs and image weights have one row per sample', () => {
    const result = predict(model, data.test, data, config, true);
    const samples = data.test.length;
    assert.deepEqual(result.featureMap, { height: 2, width: 2 });
    assert.equal(result.classifierInputSize, config.model.attention.size);
    assert.equal(result.classifierInputs.length, samples * config.model.attention.size);
    assert.equal(result.imageWeights.length, samples * 4);
    assert.deepEqual(result.ids, data.test.map((sample) => sample.id));
  });

  test('values equal a direct forward pass, including the partial last batch', () => {
    const result = predict(model, data.test, data, config, true);
    const last = data.test.length - 1;
    const batch = makeBatch([data.test[last]], data, { augment: false });
    const inputs = toModelInputs(batch, config.data.maxSentences, true, testTextScale(config));
    const outputs = model.apply(inputs, { training: false, random: new Random(0) });
    const expectedInput = outputs.classifierInput.dataSync();
    const expectedWeights = outputs.imageWeights.dataSync();
    tf.dispose(Object.values(outputs));
    disposeModelInputs(inputs);

    const size = result.classifierInputSize;
    const actualInput = result.classifierInputs.subarray(last * size, (last + 1) * size);
    for (let i = 0; i < size; i++) assert.ok(Math.abs(actualInput[i] - expectedInput[i]) < 1e-5, `classifier input ${i}`);
    const actualWeights = result.imageWeights.subarray(last * 4, (last + 1) * 4);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(actualWeights[i] - expectedWeights[i]) < 1e-6, `image weight ${i}`);
  });

  test('joint attention over image and sentences sums to 1', () => {
    const result = predict(model, data.test, data, config, true);
    result.ids.forEach((id, sample) => {
      const image = result.imageWeights.subarray(sample * 4, (sample + 1) * 4).reduce((a, b) => a + b, 0);
      const text = result.sentenceWeights[sample].reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(image + text - 1) < 1e-5, `${id}: image ${image} + text ${text}`);
    });
  });

  test('sentence types align with sentence weights', () => {
    const withText = predict(model, data.test, data, config, true);
    withText.ids.forEach((id, sample) => {
      const expected = data.test[sample].sentences.map((sentence) => sentence.type);
      assert.deepEqual(withText.sentenceTypes[sample], expected, id);
      assert.equal(withText.sentenceWeights[sample].length, expected.length, id);
    });
    const withoutText = predict(model, data.test, data, config, false);
    assert.ok(withoutText.sentenceTypes.every((types) => types.length === 0));
  });

  test('leaves no tensors behind', () => {
    predict(model, data.test, data, config, false);
    const before = tf.memory().numTensors;
    predict(model, data.test, data, config, true);
    assert.equal(tf.memory().numTensors, before);
  });
});
