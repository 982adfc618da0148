import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_VARIANTS } from '../../src/config/schema.ts';
import { DualAttention } from '../../src/model/dual-attention.ts';
import { ParameterStore } from '../../src/model/parameters.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { toTextInputs } from '../../src/model/text-encoder.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const evaluation = { training: false, random: new Random(0) };

// G = 4 image positions of C = 3 channels, N = 2 sentence slots of D = 2 values, M = 3.
const [G, N, C, D, M] = [4, 2, 3, 2, 3];

/** Returns a fixed, irregular matrix of rows x columns values in [-0.9, 0.9]. */
function fixedMatrix(rows: number, columns: number, seed: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: columns }, (_, c) => 0.9 * Math.sin(seed * 1.3 + r * 2.1 + c * 0.7)));
}

type Matrix = number[][];
const tanh = Math.tanh;
const multiply = (x: Matrix, w: Matrix) => x.map((row) => w[0].map((_, j) => row.reduce((sum, v, i) => sum + v * w[i][j], 0)));
const addRow = (x: Matrix, row: number[]) => x.map((r) => r.map((v, j) => v + row[j]));
const apply = (x: Matrix, f: (v: number) => number) => x.map((r) => r.map(f));
const softmax = (scores: number[]) => {
  const top = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
};

/** Computes the dual attention of one sample by hand from `weights`, the parameters by name. */
function reference(weights: Map<string, Matrix>, variant: string, image: Matrix, text: Matrix, mask: number[]) {
  const w = (name: string) => weights.get(`attention.${name}`)!;
  const bias = (name: string) => w(`${name}.bias`)[0];
  const imageEmbedding = apply(addRow(multiply(image, w('embedImage.weight')), bias('embedImage')), tanh);
  const textEmbedding = apply(addRow(multiply(text, w('embedText.weight')), bias('embedText')), tanh);
  const meanImage = imageEmbedding[0].map((_, m) => imageEmbedding.reduce((sum, row) => sum + row[m], 0) / G);
  const present = mask.reduce((a, b) => a + b, 0);
  const meanText = textEmbedding[0].map((_, m) => textEmbedding.reduce((sum, row, n) => sum + mask[n] * row[m], 0) / Math.max(present, 1));

  const textContext = multiply([meanText], w('textToImage.weight'))[0];
  const imageContext = multiply([meanImage], w('imageToText.weight'))[0];
  const imageHidden = apply(addRow(addRow(multiply(imageEmbedding, w('imageProjection.weight')), bias('imageProjection')), textContext), tanh);
  const textHidden = apply(addRow(addRow(multiply(textEmbedding, w('textProjection.weight')), bias('textProjection')), imageContext), tanh);
  const textScoreName = variant === 'joint' ? 'score' : 'textScore';
  const imageScores = multiply(imageHidden, w('score.weight')).map((row) => row[0] + bias('score')[0]);
  const textScores = multiply(textHidden, w(`${textScoreName}.weight`)).map((row) => row[0] + bias(textScoreName)[0]);

  let imageWeights: number[];
  let textWeights: number[];
  const presentIndices = mask.flatMap((m, n) => (m ? [n] : []));
  const presentScores = presentIndices.map((n) => textScores[n]);
  if (variant === 'separate') {
    imageWeights = softmax(imageScores);
    const presentWeights = softmax(presentScores);
    textWeights = mask.map((_, n) => (mask[n] ? presentWeights[presentIndices.indexOf(n)] : 0));
  } else {
    const joint = softmax([...imageScores, ...presentScores]);
    imageWeights = joint.slice(0, G);
    textWeights = mask.map((_, n) => (mask[n] ? joint[G + presentIndices.indexOf(n)] : 0));
  }
  const context = meanImage.map((_, m) =>
    imageEmbedding.reduce((sum, row, g) => sum + imageWeights[g] * row[m], 0) +
    textEmbedding.reduce((sum, row, n) => sum + textWeights[n] * row[m], 0),
  );
  return { imageWeights, textWeights, context };
}

function assertClose(actual: number[], expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, label);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-5, `${label}[${i}]: ${value} != ${expected[i]}`));
}

describe('dual attention reference', () => {
  for (const variant of ATTENTION_VARIANTS) {
    test(`${variant} matches hand computation`, () => {
      const store = new ParameterStore(new Random(5));
      const attention = new DualAttention({ size: M, dropout: 0, variant }, C, D, store);
      // Replace every initial value by a fixed one, so the reference does not depend on the seeded initialiser.
      const weights = new Map<string, Matrix>();
      store.named().forEach(([name, variable], index) => {
        const shape = variable.shape.length === 1 ? [1, variable.shape[0]] : variable.shape;
        const values = fixedMatrix(shape[0], shape[1], index + 1);
        weights.set(name, values);
        variable.assign(tf.tensor(values.flat(), variable.shape));
      });

      const images = [fixedMatrix(G, C, 20), fixedMatrix(G, C, 21)];
      const texts = [fixedMatrix(N, D, 30), fixedMatrix(N, D, 31)];
      const masks = [
        [1, 1],
        [1, 0],
      ];
      const out = attention.apply(tf.tensor3d(images), tf.tensor3d(texts), tf.tensor2d(masks), evaluation);
      const imageWeights = out.imageWeights.arraySync();
      const textWeights = out.textWeights.arraySync();
      const context = out.context.arraySync();
      for (let b = 0; b < 2; b++) {
        const expected = reference(weights, variant, images[b], texts[b], masks[b]);
        assertClose(imageWeights[b], expected.imageWeights, `sample ${b} image weights`);
        assertClose(textWeights[b], expected.textWeights, `sample ${b} text weights`);
        assertClose(context[b], expected.context, `sample ${b} context`);
        const imageTotal = imageWeights[b].reduce((a, w) => a + w, 0);
        const textTotal = textWeights[b].reduce((a, w) => a + w, 0);
        if (variant === 'separate') {
          assert.ok(Math.abs(imageTotal - 1) < 1e-5, `sample ${b} image weights sum to ${imageTotal}`);
          assert.ok(Math.abs(textTotal - 1) < 1e-5, `sample ${b} text weights sum to ${textTotal}`);
        } else {
          assert.ok(Math.abs(imageTotal + textTotal - 1) < 1e-5, `sample ${b} weights over G + N sum to ${imageTotal + textTotal}`);
        }
      }
      assert.equal(textWeights[1][1], 0, 'an absent sentence gets no weight');
      store.dispose();
    });
  }
});

describe('prediction without text or skip-connection', () => {
  test('depends only on the image', () => {
    const config = tinyConfig({ model: { skipConnection: false } });
    const model = new TandemNet(config.model, { vocabularySize: 10, classes: 3, sentences: 3 }, new Random(9));
    const images = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const otherImages = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const mask = new Float32Array(6).fill(1);
    // Two different reports of three sentences each; ids 3 to 9 are words, 1 ends a sentence.
    const reportA = toTextInputs(new Int32Array([3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1]), 6, new Int32Array([1, 3, 5, 1, 3, 5]), mask, 2, 3);
    const reportB = toTextInputs(new Int32Array([9, 9, 1, 8, 1, 1, 4, 4, 4, 1, 1, 1]), 6, new Int32Array([2, 4, 5, 3, 4, 5]), mask, 2, 3);
    const sentenceMask = tf.tensor2d(mask, [2, 3]);
    const logits = (inputs: Parameters<TandemNet['apply']>[0]) => model.apply(inputs, evaluation).logits.arraySync();

    const withoutText = logits({ images, text: null, sentenceMask: null, textScale: 1 });
    const zeroedA = logits({ images, text: reportA, sentenceMask, textScale: 0 });
    const zeroedB = logits({ images, text: reportB, sentenceMask, textScale: 0 });
    const scaledA = logits({ images, text: reportA, sentenceMask, textScale: 1 });
    const scaledB = logits({ images, text: reportB, sentenceMask, textScale: 1 });
    assertClose(zeroedA.flat(), withoutText.flat(), 'S = 0 from report A');
    assertClose(zeroedB.flat(), withoutText.flat(), 'S = 0 from report B');
    assert.notDeepEqual(scaledA, scaledB, 'with S the reports change the prediction');
    const otherImage = logits({ images: otherImages, text: null, sentenceMask: null, textScale: 1 });
    assert.notDeepEqual(otherImage, withoutText, 'another image changes the prediction');
    model.dispose();
  });
});
