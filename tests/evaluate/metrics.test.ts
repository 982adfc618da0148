import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accuracy, classificationReport, confusionMatrix } from '../../src/evaluate/metrics.ts';

const CLASSES = ['ABD', 'CHEST', 'HEAD'];
// Ten predictions: ABD 3 of 4 right (one called CHEST), CHEST 2 of 3 (one called HEAD), HEAD 3 of 3.
const LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const PREDICTIONS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${message ?? ''} expected ${expected}, got ${actual}`);

describe('confusion matrix', () => {
  test('counts and row rates from known predictions', () => {
    const matrix = confusionMatrix(LABELS, PREDICTIONS, CLASSES);
    assert.deepEqual(matrix.classes, CLASSES);
    assert.deepEqual(matrix.counts, [
      [3, 1, 0],
      [0, 2, 1],
      [0, 0, 3],
    ]);
    assert.deepEqual(matrix.rates[0], [0.75, 0.25, 0]);
    close(matrix.rates[1][1], 2 / 3);
    close(matrix.rates[1][2], 1 / 3);
    assert.deepEqual(matrix.rates[2], [0, 0, 1]);
  });

  test('class without samples has a zero row', () => {
    const matrix = confusionMatrix([0, 1], [0, 0], CLASSES);
    assert.deepEqual(matrix.counts[2], [0, 0, 0]);
    assert.deepEqual(matrix.rates[2], [0, 0, 0]);
  });
});

describe('classification report', () => {
  test('precision, recall and F1 per class', () => {
    const report = classificationReport(confusionMatrix(LABELS, PREDICTIONS, CLASSES));
    const [abd, chest, head] = report.perClass;

    assert.equal(abd.class, 'ABD');
    assert.equal(abd.support, 4);
    close(abd.precision, 1, 'ABD precision');
    close(abd.recall, 0.75, 'ABD recall');
    close(abd.f1, (2 * 0.75) / 1.75, 'ABD F1');

    assert.equal(chest.support, 3);
    close(chest.precision, 2 / 3, 'CHEST precision');
    close(chest.recall, 2 / 3, 'CHEST recall');
    close(chest.f1, 2 / 3, 'CHEST F1');

    assert.equal(head.support, 3);
    close(head.precision, 0.75, 'HEAD precision');
    close(head.recall, 1, 'HEAD recall');
    close(head.f1, 1.5 / 1.75, 'HEAD F1');
  });

  test('macro-F1, balanced accuracy and accuracy', () => {
    const report = classificationReport(confusionMatrix(LABELS, PREDICTIONS, CLASSES));
    close(report.macroF1, (6 / 7 + 2 / 3 + 6 / 7) / 3, 'macro-F1');
    close(report.balancedAccuracy, (0.75 + 2 / 3 + 1) / 3, 'balanced accuracy');
    close(report.accuracy, 0.8, 'accuracy');
    close(report.accuracy, accuracy(LABELS, PREDICTIONS), 'accuracy agrees with accuracy()');
  });

  test('classes absent from labels and predictions are left out of the averages', () => {
    // HEAD never occurs: macro-F1 and balanced accuracy average over ABD and CHEST only.
    const report = classificationReport(confusionMatrix([0, 0, 1, 1], [0, 1, 1, 1], CLASSES));
    const [abd, chest, head] = report.perClass;
    assert.deepEqual([head.support, head.precision, head.recall, head.f1], [0, 0, 0, 0]);
    close(abd.f1, 2 / 3, 'ABD F1');
    close(chest.f1, 0.8, 'CHEST F1');
    close(report.macroF1, (2 / 3 + 0.8) / 2, 'macro-F1');
    close(report.balancedAccuracy, (0.5 + 1) / 2, 'balanced accuracy');
  });

  test('a class only predicted counts in macro-F1 but not in balanced accuracy', () => {
    const report = classificationReport(confusionMatrix([0, 0], [0, 2], CLASSES));
    close(report.perClass[0].f1, 2 / 3, 'ABD F1');
    assert.equal(report.perClass[2].f1, 0);
    close(report.macroF1, 1 / 3, 'macro-F1 over ABD and HEAD');
    close(report.balancedAccuracy, 0.5, 'balanced accuracy over ABD');
  });

  test('no samples gives zeros', () => {
    const report = classificationReport(confusionMatrix([], [], CLASSES));
    assert.equal(report.accuracy, 0);
    assert.equal(report.macroF1, 0);
    assert.equal(report.balancedAccuracy, 0);
  });
});
