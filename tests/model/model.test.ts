import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildWrn } from '../../src/model/wrn.ts';
import { ParameterStore } from '../../src/model/parameters.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { TextEncoder, toTextInputs } from '../../src/model/text-encoder.ts';
import { DualAttention } from '../../src/model/dual-attention.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const evaluation = { training: false, random: new Random(0) };

describe('WRN backbone', () => {
  test('WRN16-4 has 2.7M parameters', () => {
    const store = new ParameterStore(new Random(1));
    buildWrn({ type: 'wrn', depth: 16, widenFactor: 4, dropout: 0.3 }, store);
    const { byPart } = store.countParameters();
    assert.ok(Math.abs(byPart.cnn - 2.7e6) <= 0.1e6, `WRN16-4 has ${byPart.cnn} parameters`);
    store.dispose();
  });

  test('feature map is 1/16 of the input with 64k channels', () => {
    const store = new ParameterStore(new Random(1));
    const backbone = buildWrn({ type: 'wrn', depth: 10, widenFactor: 2, dropout: 0 }, store);
    const output = backbone.apply(tf.zeros([2, 64, 48, 3]), evaluation);
    assert.deepEqual(output.shape, [2, 4, 3, 128]);
    assert.equal(backbone.channels, 128);
    assert.equal(backbone.totalStride, 16);
    tf.dispose(output);
    store.dispose();
  });

  test('rejects a depth that is not 6n + 4', () => {
    const store = new ParameterStore(new Random(1));
    assert.throws(() => buildWrn({ type: 'wrn', depth: 15, widenFactor: 1, dropout: 0 }, store), /6n \+ 4/);
    store.dispose();
  });
});

describe('text encoder', () => {
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

  test('S holds the LSTM state at each end-of-sentence token', () => {
    const store = new ParameterStore(new Random(3));
    const encoder = new TextEncoder({ embeddingSize: 3, hiddenSize: 2, dropout: 0 }, 6, store);
    // Two reports: [4 5 EOS 3 EOS] with sentences ending at steps 2 and 4; [3 EOS 0 0 0] with one sentence.
    const tokens = new Int32Array([4, 5, 1, 3, 1, 3, 1, 0, 0, 0]);
    const positions = new Int32Array([2, 4, 0, 1, 0, 0]);
    const mask = new Float32Array([1, 1, 0, 1, 0, 0]);
    const inputs = toTextInputs(tokens, 5, positions, mask, 2, 3);
    const states = encoder.apply(inputs, evaluation).arraySync() as number[][][];

    const embedding = encoder.embedding.arraySync() as number[][];
    const [weight, bias] = store.trainable('text').slice(1).map((v) => v.arraySync()) as [number[][], number[]];
    const reference = (sequence: number[]) => {
      let h = [0, 0];
      let c = [0, 0];
      return sequence.map((token) => {
        const x = [...embedding[token], ...h];
        const gates = bias.map((b, j) => b + x.reduce((sum, value, i) => sum + value * weight[i][j], 0));
        c = c.map((cell, j) => sigmoid(gates[2 + j]) * cell + sigmoid(gates[j]) * Math.tanh(gates[4 + j]));
        h = c.map((cell, j) => sigmoid(gates[6 + j]) * Math.tanh(cell));
        return h;
      });
    };
    const first = reference([4, 5, 1, 3, 1]);
    const second = reference([3, 1]);
    const expected = [
      [first[2], first[4], [0, 0]],
      [second[1], [0, 0], [0, 0]],
    ];
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 3; n++) {
        for (let d = 0; d < 2; d++) {
          assert.ok(Math.abs(states[b][n][d] - expected[b][n][d]) < 1e-5, `S[${b}][${n}][${d}]`);
        }
      }
    }
    store.dispose();
  });
});

describe('dual attention', () => {
  const image = () => tf.randomNormal([2, 4, 5], 0, 1, 'float32', 11) as tf.Tensor3D;
  const text = () => tf.randomNormal([2, 3, 6], 0, 1, 'float32', 12) as tf.Tensor3D;
  const mask = () => tf.tensor2d([1, 1, 0, 0, 0, 0], [2, 3]);

  for (const variant of ['joint', 'two-score-joint'] as const) {
    test(`${variant}: weights over G + N sum to 1 and skip absent sentences`, () => {
      const store = new ParameterStore(new Random(5));
      const attention = new DualAttention({ size: 4, dropout: 0, variant }, 5, 6, store);
      const out = attention.apply(image(), text(), mask(), evaluation);
      const imageWeights = out.imageWeights.arraySync();
      const textWeights = out.textWeights.arraySync();
      for (let b = 0; b < 2; b++) {
        const total = [...imageWeights[b], ...textWeights[b]].reduce((a, w) => a + w, 0);
        assert.ok(Math.abs(total - 1) < 1e-5, `sample ${b} weights sum to ${total}`);
      }
      assert.equal(textWeights[0][2], 0);
      assert.deepEqual(textWeights[1], [0, 0, 0]);
      assert.deepEqual(out.context.shape, [2, 4]);
      store.dispose();
    });
  }

  test('separate: each modality sums to 1, an empty report to 0', () => {
    const store = new ParameterStore(new Random(5));
    const attention = new DualAttention({ size: 4, dropout: 0, variant: 'separate' }, 5, 6, store);
    const out = attention.apply(image(), text(), mask(), evaluation);
    const imageWeights = out.imageWeights.arraySync();
    const textWeights = out.textWeights.arraySync();
    assert.ok(Math.abs(imageWeights[0].reduce((a, w) => a + w, 0) - 1) < 1e-5);
    assert.ok(Math.abs(textWeights[0].reduce((a, w) => a + w, 0) - 1) < 1e-5);
    assert.equal(textWeights[1].reduce((a, w) => a + w, 0), 0);
    store.dispose();
  });
});

describe('TandemNet', () => {
  test('same seed gives the same initial weights', () => {
    const config = tinyConfig();
    const shape = { vocabularySize: 10, classes: 3, sentences: 3 };
    const first = new TandemNet(config.model, shape, new Random(9));
    const second = new TandemNet(config.model, shape, new Random(9));
    const third = new TandemNet(config.model, shape, new Random(10));
    const a = first.store.snapshot();
    const b = second.store.snapshot();
    const c = third.store.snapshot();
    for (const [name, values] of a) assert.deepEqual(values, b.get(name), name);
    assert.notDeepEqual(a.get('classifier.weight'), c.get('classifier.weight'));
    [first, second, third].forEach((model) => model.dispose());
  });

  test('without text the output does not depend on the report', () => {
    const config = tinyConfig();
    const model = new TandemNet(config.model, { vocabularySize: 10, classes: 3, sentences: 3 }, new Random(9));
    const images = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = model.apply({ images, text: null, sentenceMask: null, textScale: 1 }, evaluation);
    assert.deepEqual(out.logits.shape, [2, 3]);
    assert.deepEqual(out.imageWeights.shape, [2, 1]);
    assert.deepEqual(out.textWeights.shape, [2, 3]);
    model.dispose();
  });
});
