import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSweepSection, sweepPoints } from '../../src/sweep/points.ts';

describe('sweepPoints', () => {
  test('grid is a cartesian product, first path slowest', () => {
    const points = sweepPoints({ grid: { a: [1, 2], 'b.c': ['x', 'y', 'z'] }, variants: {}, trials: 1 });
    assert.deepEqual(
      points.map((point) => point.label),
      ['a=1, b.c=x', 'a=1, b.c=y', 'a=1, b.c=z', 'a=2, b.c=x', 'a=2, b.c=y', 'a=2, b.c=z'],
    );
    assert.deepEqual(points[4].overrides, [
      { path: 'a', value: 2, entry: ['sweep', 'grid', 'a', '1'] },
      { path: 'b.c', value: 'y', entry: ['sweep', 'grid', 'b.c', '1'] },
    ]);
  });

  test('variants come first, then their grid points', () => {
    const points = sweepPoints({ grid: { r: [0, 1] }, variants: { one: { 'm.x': true }, two: {} }, trials: 3 });
    assert.deepEqual(
      points.map((point) => point.label),
      ['one, r=0', 'one, r=1', 'two, r=0', 'two, r=1'],
    );
    assert.deepEqual(points[1].overrides[0], { path: 'm.x', value: true, entry: ['sweep', 'variants', 'one', 'm.x'] });
    assert.deepEqual(
      points.map((point) => point.index),
      [0, 1, 2, 3],
    );
  });

  test('empty sweep is the base config', () => {
    const points = sweepPoints({ grid: {}, variants: {}, trials: 3 });
    assert.equal(points.length, 1);
    assert.equal(points[0].label, 'base config');
    assert.deepEqual(points[0].overrides, []);
  });

  test('labels quote values that need it', () => {
    const points = sweepPoints({ grid: { s: ['two words', [1, 2], null] }, variants: {}, trials: 1 });
    assert.deepEqual(
      points.map((point) => point.label),
      ['s="two words"', 's=[1,2]', 's=null'],
    );
  });

  test('section check finds fixed and overlapping paths', () => {
    const findings = checkSweepSection({
      grid: { 'model.textDropRate': [0], extends: ['a.yaml'] },
      variants: { v: { model: { textDropRate: 0.2 }, 'sweep.trials': 2 }, w: { model: { skipConnection: false } } },
      trials: 1,
    });
    assert.deepEqual(
      findings.map((finding) => finding.entry.join('/')),
      ['sweep/grid/extends', 'sweep/variants/v/model', 'sweep/variants/v/sweep.trials'],
    );
  });
});
