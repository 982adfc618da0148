import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { attentionByTypeSpec, confusionMatrixSpec, formatSignificant, renderChart, tsneSpec } from '../../src/analysis/charts.ts';
import { confusionMatrix } from '../../src/evaluate/metrics.ts';

const CLASSES = ['ABD', 'CHEST', 'HEAD'];

/** The inline data values of a single-view spec. */
const valuesOf = (spec: object) => (spec as { data: { values: Record<string, unknown>[] } }).data.values;

describe('chart specs', () => {
  test('confusion matrix cells carry count, rate and caption', () => {
    const matrix = confusionMatrix([0, 0, 0, 0, 1, 2], [0, 0, 0, 1, 1, 2], CLASSES);
    const values = valuesOf(confusionMatrixSpec(matrix, 'title'));
    assert.equal(values.length, 9);
    assert.deepEqual(values[0], { label: 'ABD', predicted: 'ABD', count: 3, rate: 0.75, caption: '3 (75%)' });
    assert.deepEqual(values[1], { label: 'ABD', predicted: 'CHEST', count: 1, rate: 0.25, caption: '1 (25%)' });
  });

  test('t-SNE points mark wrong predictions', () => {
    const points = [
      { image: 'a.jpg', label: 'ABD', prediction: 'ABD', x: 1, y: 2 },
      { image: 'b.jpg', label: 'HEAD', prediction: 'CHEST', x: 3, y: 4 },
    ];
    const values = valuesOf(tsneSpec(points, CLASSES, 'title'));
    assert.deepEqual(
      values.map((v) => v.outcome),
      ['right', 'wrong'],
    );
  });

  test('attention heat map leaves empty cells out', () => {
    const cells = [
      { label: 'ABD', type: 'PRES', meanWeight: 0.125, meanRelativeWeight: 0.5, sentences: 4, images: 2 },
      { label: 'HEAD', type: 'PRES', meanWeight: null, meanRelativeWeight: null, sentences: 0, images: 0 },
    ];
    const values = valuesOf(attentionByTypeSpec(cells, CLASSES, ['PRES'], 'meanWeight', 'title'));
    assert.equal(values.length, 1);
    assert.equal(values[0].caption, '0.13 · n=4');
    const shares = valuesOf(attentionByTypeSpec(cells, CLASSES, ['PRES'], 'meanRelativeWeight', 'title'));
    assert.equal(shares[0].caption, '0.50 · n=4');
  });

  test('small weights keep two significant digits', () => {
    assert.equal(formatSignificant(0.000344829), '0.00034');
    assert.equal(formatSignificant(0.125), '0.13');
    assert.equal(formatSignificant(1), '1');
  });
});

describe('chart rendering', () => {
  test('SVG has the class names and PNG has twice its size', async () => {
    const matrix = confusionMatrix([0, 1, 2], [0, 1, 1], CLASSES);
    const { svg, png } = await renderChart(confusionMatrixSpec(matrix, 'Confusion test'));
    assert.match(svg, /^<svg /);
    for (const name of [...CLASSES, 'Confusion test', 'true label', 'predicted']) assert.ok(svg.includes(`>${name}<`), `${name} missing from the SVG`);

    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    const metadata = await sharp(png).metadata();
    assert.equal(metadata.format, 'png');
    assert.equal(metadata.width, 2 * width);
    assert.equal(metadata.height, 2 * height);
  });

  test('PNG text is drawn', async () => {
    // The title row contains text and nothing else, so it has dark pixels unless no font was found.
    const { png } = await renderChart(confusionMatrixSpec(confusionMatrix([0], [0], CLASSES), 'Confusion test'));
    const { data, info } = await sharp(png).extract({ left: 0, top: 0, width: 200, height: 30 }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const dark = data.filter((value) => value < 100).length;
    assert.ok(dark > 50, `${dark} dark pixels in the ${info.width} x ${info.height} title area`);
  });
});
