/**
 * The plot of a one-parameter sweep: test accuracy without and with text against the grid parameter,
 * the mean of the finished trials as a line, their standard deviation as error bars and each trial as a
 * dot. With variants, one panel per variant.
 */
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../artifacts/files.ts';
import { renderChart } from '../analysis/charts.ts';
import { sweepPath } from './manifest.ts';
import type { SweepSummary } from './summary.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** One finished trial's accuracy, one row per trial and series. */
interface PlotRow {
  value: unknown;
  variant: string;
  series: 'without text' | 'with text';
  accuracy: number;
  trial: string;
}

/** Builds the Vega-Lite spec of the plot; the summary must have exactly one grid path. */
export function sweepPlotSpec(summary: SweepSummary): TopLevelSpec {
  const parameter = summary.gridPaths[0];
  const rows: PlotRow[] = [];
  for (const trial of summary.trials) {
    const point = summary.points[trial.point];
    const value = point.grid[0]?.value;
    const variant = point.variant ?? '';
    if (trial.accuracyWithoutText !== null) rows.push({ value, variant, series: 'without text', accuracy: trial.accuracyWithoutText, trial: trial.label });
    if (trial.accuracyWithText !== null) rows.push({ value, variant, series: 'with text', accuracy: trial.accuracyWithText, trial: trial.label });
  }

  const values = summary.points.map((point) => point.grid[0]?.value);
  const numeric = values.every((value) => typeof value === 'number');
  const x = numeric
    ? { field: 'value', type: 'quantitative' as const, title: parameter }
    : { field: 'value', type: 'ordinal' as const, title: parameter, sort: [...new Set(values.map(String))] };
  const y = { field: 'accuracy', type: 'quantitative' as const, title: 'test accuracy', scale: { domain: [0, 1] } };
  const color = { field: 'series', type: 'nominal' as const, title: 'tested', scale: { domain: ['without text', 'with text'] } };

  const layers = [
    { mark: { type: 'errorbar' as const, extent: 'stdev' as const, ticks: true }, encoding: { x, y, color } },
    { mark: { type: 'line' as const, point: true }, encoding: { x, y: { ...y, aggregate: 'mean' as const }, color } },
    { mark: { type: 'point' as const, filled: true, size: 18, opacity: 0.45 }, encoding: { x, y, color, tooltip: [{ field: 'trial' }, { field: 'accuracy' }] } },
  ];
  const title = { text: `${summary.experiment}: test accuracy against ${parameter}`, subtitle: 'line: mean over trials; bars: ± sample standard deviation; dots: trials' };
  const config = { font: 'DejaVu Sans, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, title: { fontSize: 13, anchor: 'start' as const } };

  if (summary.hasVariants) {
    return {
      $schema: SCHEMA,
      title,
      data: { values: rows },
      facet: { column: { field: 'variant', type: 'nominal', title: null } },
      spec: { width: 280, height: 220, layer: layers },
      config,
    } as TopLevelSpec;
  }
  return { $schema: SCHEMA, title, width: 420, height: 260, data: { values: rows }, layer: layers, config } as TopLevelSpec;
}

/** Writes the plot's spec, SVG and PNG into the sweep folder; returns the paths written. */
export async function writeSweepPlot(sweepDir: string, summary: SweepSummary): Promise<string[]> {
  const spec = sweepPlotSpec(summary);
  const { svg, png } = await renderChart(spec);
  const files = [sweepPath(sweepDir, 'plotSpec'), sweepPath(sweepDir, 'plotSvg'), sweepPath(sweepDir, 'plotPng')];
  writeFileAtomic(files[0], `${JSON.stringify(spec, null, 2)}\n`);
  writeFileAtomic(files[1], svg);
  writeFileAtomic(files[2], png);
  return files;
}
