import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, contentId, diffByPath, formatChanges } from '../../src/sweep/canonical.ts';

describe('canonical values', () => {
  test('key order does not matter', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
    assert.equal(contentId({ x: 1, y: 2 }), contentId({ y: 2, x: 1 }));
    assert.notEqual(contentId({ x: 1 }), contentId({ x: 2 }));
    assert.match(contentId({}), /^[0-9a-f]{12}$/);
  });

  test('diff names changed, added and removed paths', () => {
    const changes = diffByPath({ train: { epochs: 20, batchSize: 32 }, grid: [0, 1], gone: 1 }, { train: { epochs: 8, batchSize: 32 }, grid: [0, 1, 2], added: 'x' });
    assert.equal(
      formatChanges(changes),
      ['added: added ("x")', 'gone: removed (was 1)', 'grid: [0,1] -> [0,1,2]', 'train.epochs: 20 -> 8'].join('\n'),
    );
  });
});
