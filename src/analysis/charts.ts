/**
 * Vega-Lite specs of the analysis figures, and their rendering to SVG and PNG in Node with vega's
 * headless View (no browser) and sharp.
 */
import sharp from 'sharp';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ConfusionMatrix } from '../evaluate/metrics.ts';
import type { TypeAttention } from './attention-statistics.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Shared look: DejaVu Sans (Debian's fonts-dejavu-core), which librsvg and Chromium both find through fontconfig. */
const CHART_CONFIG = {
  font: 'DejaVu Sans, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' },
} as const;

/** PNG resolution in dots per inch; sharp reads SVG at 72 by default, so 144 gives twice the SVG's pixel size. */
const PNG_DENSITY = 144;

/** Build the heat map of a confusion matrix: colour is the row rate, and each cell shows its count and rate. */
export function confusionMatrixSpec(matrix: ConfusionMatrix, title: string): TopLevelSpec {
  const values = matrix.classes.flatMap((label, row) =>
    matrix.classes.map((predicted, column) => ({
      label,
      predicted,
      count: matrix.counts[row][column],
      rate: matrix.rates[row][column],
      caption: `${matrix.counts[row][column]} (${Math.round(matrix.rates[row][column] * 100)}%)`,
    })),
  );
  const side = Math.max(60, 70 * matrix.classes.length);
  return {
    $schema: SCHEMA,
    title,
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: matrix.classes, title: 'predicted', axis: { labelAngle: 0 } },
      y: { field: 'label', type: 'nominal', sort: matrix.classes, title: 'true label' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues' }, title: 'row rate' },
        },
      },
      {
        mark: { type: 'text', fontSize: 12 },
        encoding: {
          text: { field: 'caption', type: 'nominal' },
          color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: CHART_CONFIG,
  };
}

/** One point of a t-SNE scatter plot. */
export interface TsnePoint {
  image: string;
  label: string;
  prediction: string;
  x: number;
  y: number;
}

/** Build the scatter plot of t-SNE points: colour is the true label, and a cross marks a misclassified image. */
export function tsneSpec(points: TsnePoint[], classes: string[], title: string): TopLevelSpec {
  const values = points.map((point) => ({ ...point, outcome: point.label === point.prediction ? 'right' : 'wrong' }));
  return {
    $schema: SCHEMA,
    title,
    width: 360,
    height: 360,
    data: { values },
    mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 't-SNE 1', axis: { labels: false, ticks: false } },
      y: { field: 'y', type: 'quantitative', title: 't-SNE 2', axis: { labels: false, ticks: false } },
      color: { field: 'label', type: 'nominal', scale: { domain: classes, scheme: 'category10' }, title: 'true label' },
      shape: {
        field: 'outcome',
        type: 'nominal',
        scale: { domain: ['right', 'wrong'], range: ['circle', 'cross'] },
        title: 'prediction',
      },
      tooltip: [{ field: 'image' }, { field: 'label' }, { field: 'prediction' }],
    },
    config: CHART_CONFIG,
  };
}

/** The per-type statistic that an attention heat map shows. */
export type AttentionMeasure = 'meanWeight' | 'meanRelativeWeight';

const MEASURE_TITLES: Record<AttentionMeasure, string> = { meanWeight: 'mean weight', meanRelativeWeight: 'mean relative weight' };

/** Format a value with two significant digits, so that weights of 0.0003 stay readable. */
export function formatSignificant(value: number): string {
  return String(Number(value.toPrecision(2)));
}

/**
 * Build the heat map of a per-type attention `measure` for each sentence type (rows) and true label
 * (columns). Each cell shows the value and the number of sentences behind it. Empty cells stay blank.
 * Mean weights run from 0 on a sequential scale. Relative weights use a diverging scale centred on 1,
 * the report average, because they stay close to it.
 */
export function attentionByTypeSpec(
  cells: TypeAttention[],
  classes: string[],
  types: string[],
  measure: AttentionMeasure,
  title: string,
): TopLevelSpec {
  const relative = measure === 'meanRelativeWeight';
  const format = (value: number) => (relative ? value.toFixed(2) : formatSignificant(value));
  const values = cells
    .filter((cell) => cell[measure] !== null)
    .map((cell) => ({ ...cell, caption: `${format(cell[measure]!)} · n=${cell.sentences}` }));
  const largest = Math.max(0, ...values.map((cell) => cell[measure]!));

  return {
    $schema: SCHEMA,
    title,
    width: 110 * classes.length,
    height: 24 * Math.max(1, types.length),
    data: { values },
    encoding: {
      x: { field: 'label', type: 'nominal', sort: classes, scale: { domain: classes }, title: 'true label', axis: { labelAngle: 0, orient: 'top' } },
      y: { field: 'type', type: 'nominal', sort: types, scale: { domain: types }, title: 'sentence type' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: measure,
            type: 'quantitative',
            scale: relative ? { scheme: 'blueorange', domainMid: 1 } : { scheme: 'oranges', domainMin: 0 },
            title: MEASURE_TITLES[measure],
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'caption', type: 'nominal' },
          // The diverging scale is light around 1, so its captions stay black.
          color: relative ? { value: 'black' } : { condition: { test: `datum.${measure} > ${largest * 0.6}`, value: 'white' }, value: 'black' },
        },
      },
    ],
    config: CHART_CONFIG,
  };
}

/** Render a Vega-Lite spec to SVG text and to a PNG at twice the SVG's pixel size. */
export async function renderChart(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = await sharp(Buffer.from(svg), { density: PNG_DENSITY }).png().toBuffer();
    return { svg, png };
  } finally {
    view.finalize();
  }
}
