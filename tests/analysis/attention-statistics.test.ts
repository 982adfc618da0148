import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  attentionByType,
  attentionShares,
  attentionStatistics,
  type AttentionPredictions,
} from '../../src/analysis/attention-statistics.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const CLASSES = ['ABD', 'CHEST', 'HEAD'];
function close(actual: number | null, expected: number, message: string): void {
  assert.notEqual(actual, null, `${message}: expected ${expected}, got null`);
  assert.ok(Math.abs(actual! - expected) < 1e-6, `${message}: expected ${expected}, got ${actual}`);
}

/**
 * Four test images with N = 3 sentence slots and a 1 x 2 feature map. Each row of the joint attention
 * tensor is [image position 1, image position 2, slot 1, slot 2, slot 3] and sums to 1; absent slots are 0.
 */
function fixedPredictions(): AttentionPredictions {
  const attention = tf.tensor2d([
    [0.3, 0.3, 0.2, 0.2, 0.0], // ABD: PRES, PLANE
    [0.1, 0.1, 0.4, 0.2, 0.2], // ABD: PRES, PRES, SIZE
    [0.5, 0.3, 0.2, 0.0, 0.0], // HEAD: PRES
    [0.6, 0.4, 0.0, 0.0, 0.0], // HEAD: no sentences
  ]);
  const sentenceTypes = [['PRES', 'PLANE'], ['PRES', 'PRES', 'SIZE'], ['PRES'], []];
  const [imageWeights, textWeights] = tf.split(attention, [2, 3], 1);
  const slots = textWeights.arraySync() as number[][];
  const result: AttentionPredictions = {
    labels: [0, 0, 2, 2],
    sentenceTypes,
    sentenceWeights: slots.map((row, i) => row.slice(0, sentenceTypes[i].length)),
    textAttentionShare: slots.map((row) => row.reduce((a, b) => a + b, 0)),
    imageWeights: imageWeights.dataSync() as Float32Array,
    featureMap: { height: 1, width: 2 },
  };
  tf.dispose([attention, imageWeights, textWeights]);
  return result;
}

describe('attention by sentence type', () => {
  test('mean weight and counts of each type per label', () => {
    const cells = attentionByType(fixedPredictions(), CLASSES);
    const cell = (label: string, type: string) => cells.find((c) => c.label === label && c.type === type)!;

    // ABD PRES: 0.2 (image 1), 0.4 and 0.2 (image 2).
    close(cell('ABD', 'PRES').meanWeight, (0.2 + 0.4 + 0.2) / 3, 'ABD PRES mean');
    assert.equal(cell('ABD', 'PRES').sentences, 3);
    assert.equal(cell('ABD', 'PRES').images, 2);
    close(cell('ABD', 'PLANE').meanWeight, 0.2, 'ABD PLANE mean');
    assert.equal(cell('ABD', 'PLANE').sentences, 1);
    close(cell('ABD', 'SIZE').meanWeight, 0.2, 'ABD SIZE mean');
    close(cell('HEAD', 'PRES').meanWeight, 0.2, 'HEAD PRES mean');
    assert.equal(cell('HEAD', 'PRES').sentences, 1);
  });

  test('relative weight compares with the report average', () => {
    const cells = attentionByType(fixedPredictions(), CLASSES);
    const cell = (label: string, type: string) => cells.find((c) => c.label === label && c.type === type)!;
    // Image 1's two sentences average 0.2 and image 2's three average 0.8 / 3: PRES is 1 in image 1, and
    // 0.4 / (0.8 / 3) = 1.5 and 0.2 / (0.8 / 3) = 0.75 in image 2. SIZE is 0.75, and HEAD's lone PRES is 1.
    close(cell('ABD', 'PRES').meanRelativeWeight, (1 + 1.5 + 0.75) / 3, 'ABD PRES');
    close(cell('ABD', 'PLANE').meanRelativeWeight, 1, 'ABD PLANE');
    close(cell('ABD', 'SIZE').meanRelativeWeight, 0.75, 'ABD SIZE');
    close(cell('HEAD', 'PRES').meanRelativeWeight, 1, 'HEAD PRES');
  });

  test('every label and type pair, empty ones null', () => {
    const cells = attentionByType(fixedPredictions(), CLASSES);
    assert.equal(cells.length, 3 * 3);
    assert.deepEqual(
      cells.map((c) => `${c.label} ${c.type}`),
      ['ABD PLANE', 'ABD PRES', 'ABD SIZE', 'CHEST PLANE', 'CHEST PRES', 'CHEST SIZE', 'HEAD PLANE', 'HEAD PRES', 'HEAD SIZE'],
    );
    const empty = cells.find((c) => c.label === 'CHEST' && c.type === 'PRES')!;
    assert.deepEqual(empty, { label: 'CHEST', type: 'PRES', meanWeight: null, meanRelativeWeight: null, sentences: 0, images: 0 });
  });

  test('rejects weights and types of different lengths', () => {
    const predictions = fixedPredictions();
    predictions.sentenceTypes[1] = ['PRES'];
    assert.throws(() => attentionByType(predictions, CLASSES), /Sample 1 has 3 sentence weights but 1 sentence types/);
  });
});

describe('attention shares', () => {
  test('text and image share per label', () => {
    const shares = attentionShares(fixedPredictions(), CLASSES);
    assert.deepEqual(
      shares.map((s) => [s.label, s.images]),
      [
        ['ABD', 2],
        ['CHEST', 0],
        ['HEAD', 2],
      ],
    );
    close(shares[0].meanTextShare, (0.4 + 0.8) / 2, 'ABD text');
    close(shares[0].meanImageShare, (0.6 + 0.2) / 2, 'ABD image');
    close(shares[2].meanTextShare, (0.2 + 0) / 2, 'HEAD text');
    close(shares[2].meanImageShare, (0.8 + 1) / 2, 'HEAD image');
    assert.equal(shares[1].meanTextShare, null);
    assert.equal(shares[1].meanImageShare, null);
  });

  test('modalities normalised separately still give shares summing to 1', () => {
    // The "separate" attention variant: image weights sum to 1 and text weights sum to 1.
    const predictions: AttentionPredictions = {
      labels: [1],
      sentenceTypes: [['PRES', 'SIZE']],
      sentenceWeights: [[0.5, 0.5]],
      textAttentionShare: [1],
      imageWeights: new Float32Array([0.25, 0.75]),
      featureMap: { height: 1, width: 2 },
    };
    const [, chest] = attentionShares(predictions, CLASSES);
    close(chest.meanTextShare, 0.5, 'text');
    close(chest.meanImageShare, 0.5, 'image');
  });
});

describe('attention statistics', () => {
  test('combines both conditions', () => {
    const withText = fixedPredictions();
    const withoutText = { ...fixedPredictions(), sentenceTypes: [[], [], [], []], sentenceWeights: [[], [], [], []] };
    const statistics = attentionStatistics(withoutText, withText, CLASSES);
    assert.deepEqual(statistics.sentenceTypes, ['PLANE', 'PRES', 'SIZE']);
    assert.equal(statistics.byType.length, 9);
    assert.equal(statistics.shareWithoutText.length, 3);
    close(statistics.shareWithText![0].meanTextShare, 0.6, 'ABD text with text');
  });

  test('model without text has no with-text statistics', () => {
    const statistics = attentionStatistics(fixedPredictions(), null, CLASSES);
    assert.deepEqual(statistics.sentenceTypes, []);
    assert.deepEqual(statistics.byType, []);
    assert.equal(statistics.shareWithText, null);
    assert.equal(statistics.shareWithoutText.length, 3);
  });
});
