import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { embedTsne, type TsneSettings } from '../../src/analysis/tsne.ts';
import { Random } from '../../src/random.ts';

const SETTINGS: TsneSettings = { perplexity: 10, iterations: 300, learningRate: 10, pcaDimensions: 10 };

/** Two clusters of `perCluster` rows in `columns` dimensions, unit noise around centres 20 apart. */
function twoClusters(perCluster: number, columns: number): Float32Array {
  const random = new Random(11);
  const values = new Float32Array(2 * perCluster * columns);
  for (let row = 0; row < 2 * perCluster; row++) {
    const centre = row < perCluster ? 10 : -10;
    for (let column = 0; column < columns; column++) {
      values[row * columns + column] = (column < 4 ? centre : 0) + random.normal();
    }
  }
  return values;
}

const distance = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);

describe('t-SNE', () => {
  test('same seed gives identical points', () => {
    const values = twoClusters(15, 64);
    const first = embedTsne(values, 30, 64, SETTINGS, new Random(5));
    const second = embedTsne(values, 30, 64, SETTINGS, new Random(5));
    assert.deepEqual(second.points, first.points);
  });

  test('another seed gives other points', () => {
    const values = twoClusters(15, 64);
    const first = embedTsne(values, 30, 64, SETTINGS, new Random(5));
    const other = embedTsne(values, 30, 64, SETTINGS, new Random(6));
    assert.notDeepEqual(other.points, first.points);
  });

  test('draws no numbers from Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random was called');
    };
    try {
      embedTsne(twoClusters(5, 8), 10, 8, { ...SETTINGS, iterations: 5 }, new Random(1));
    } finally {
      Math.random = original;
    }
  });

  test('separates two well-separated clusters', () => {
    const perCluster = 20;
    const { points } = embedTsne(twoClusters(perCluster, 64), 2 * perCluster, 64, SETTINGS, new Random(5));
    const cluster = (i: number) => (i < perCluster ? 0 : 1);

    // Every point's nearest neighbour lies in its own cluster.
    points.forEach((point, i) => {
      let nearest = -1;
      for (let j = 0; j < points.length; j++) {
        if (j !== i && (nearest < 0 || distance(point, points[j]) < distance(point, points[nearest]))) nearest = j;
      }
      assert.equal(cluster(nearest), cluster(i), `point ${i}'s nearest neighbour ${nearest} is in the other cluster`);
    });

    // The clusters' centres lie further apart than the widest cluster's diameter.
    const centre = (c: number): [number, number] => {
      const members = points.filter((_, i) => cluster(i) === c);
      return [members.reduce((s, p) => s + p[0], 0) / members.length, members.reduce((s, p) => s + p[1], 0) / members.length];
    };
    const centres = [centre(0), centre(1)];
    const diameter = Math.max(...points.map((p, i) => 2 * distance(p, centres[cluster(i)])));
    assert.ok(distance(centres[0], centres[1]) > diameter, `centres ${distance(centres[0], centres[1])} apart, diameter ${diameter}`);
  });

  test('reduces long rows with PCA first', () => {
    const result = embedTsne(twoClusters(15, 64), 30, 64, SETTINGS, new Random(5));
    assert.equal(result.pcaComponents, 10);
    assert.ok(result.explainedVariance! > 0.5, `explained variance ${result.explainedVariance}`);
    assert.ok(result.explainedVariance! <= 1 + 1e-9, `explained variance ${result.explainedVariance}`);

    const short = embedTsne(twoClusters(15, 8), 30, 8, SETTINGS, new Random(5));
    assert.equal(short.pcaComponents, null);
    assert.equal(short.explainedVariance, null);
  });

  test('lowers the perplexity for few points', () => {
    const result = embedTsne(twoClusters(5, 8), 10, 8, SETTINGS, new Random(5));
    assert.equal(result.perplexity, 3);
    assert.equal(result.points.length, 10);
    assert.ok(result.points.flat().every(Number.isFinite));
  });

  test('zero and one rows', () => {
    assert.deepEqual(embedTsne(new Float32Array(0), 0, 8, SETTINGS, new Random(5)).points, []);
    assert.deepEqual(embedTsne(new Float32Array(8), 1, 8, SETTINGS, new Random(5)).points, [[0, 0]]);
  });

  test('rejects values that do not fill the rows', () => {
    assert.throws(() => embedTsne(new Float32Array(7), 1, 8, SETTINGS, new Random(5)), /7 values do not fill a 1 x 8 matrix/);
  });
});
