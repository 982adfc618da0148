/**
 * The summary of a sweep, rebuilt from its manifest and the trials' run folders. For each point it gives
 * the test accuracy without and with text and the macro-F1, as mean and standard deviation over the
 * finished trials. It is written as summary.md, summary.csv and summary.json, with a plot for a
 * one-parameter grid.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_FILES, toCsv, writeFileAtomic } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import { classificationReport } from '../evaluate/metrics.ts';
import { readManifest, sweepPath, type PointRecord, type SweepManifest, type TrialRecord, type TrialState } from './manifest.ts';
import { writeSweepPlot } from './plot.ts';
import { formatValue } from './points.ts';

/** Mean and sample standard deviation of one metric over the finished trials of a point. */
export interface Statistic {
  mean: number;
  /** Sample standard deviation (divisor n - 1); null with fewer than two values. */
  standardDeviation: number | null;
  /** The value of each finished trial, in trial order. */
  values: number[];
}

/** The four metrics of a trial or a point. */
export interface Metrics<T> {
  accuracyWithoutText: T;
  accuracyWithText: T;
  macroF1WithoutText: T;
  macroF1WithText: T;
}

export const METRIC_NAMES: Record<keyof Metrics<unknown>, string> = {
  accuracyWithoutText: 'accuracy without text',
  accuracyWithText: 'accuracy with text',
  macroF1WithoutText: 'macro-F1 without text',
  macroF1WithText: 'macro-F1 with text',
};

export interface PointSummary extends Metrics<Statistic | null> {
  point: number;
  label: string;
  variant: string | null;
  grid: { path: string; value: unknown }[];
  readsText: boolean;
  /** Trials planned for the point. */
  trials: number;
  finished: number;
  failed: number;
  diverged: number;
  /** Pending or running: not run yet, or stopped before they finished. */
  unfinished: number;
}

export interface TrialSummary extends Metrics<number | null> {
  slot: number;
  id: string;
  point: number;
  seed: number;
  label: string;
  status: TrialState;
  reason: string | null;
  /** The trial's log, relative to the sweep folder; the manifest names its run folder. */
  log: string;
}

export interface SweepSummary {
  experiment: string;
  specHash: string;
  trialsPerPoint: number;
  /** The config paths of the grid, in grid order. */
  gridPaths: string[];
  hasVariants: boolean;
  points: PointSummary[];
  trials: TrialSummary[];
}

/** The metrics that a finished run folder's metrics.json holds, as far as the summary reads them. */
interface RunMetrics {
  test: { accuracyWithoutText: number; accuracyWithText: number | null };
  classes: string[];
  confusionWithoutText: number[][];
  confusionWithText: number[][] | null;
}

/**
 * Builds the summary of the sweep in `sweepDir` from its manifest and the metrics.json of each done
 * trial's run folder. Throws TandemError when the folder has no manifest or a done trial's metrics are
 * unreadable.
 */
export function summarizeSweep(sweepDir: string): SweepSummary {
  const manifest = readManifest(sweepDir);
  if (manifest === undefined) {
    const problem = existsSync(sweepDir) ? 'is not a sweep folder: it has no manifest.json' : 'was not found';
    throw new TandemError(
      `${sweepDir} ${problem}. A sweep folder is <output.root>/<name>/sweep-<spec hash>/, which \`tandem run\` prints when a sweep starts.`,
      { exitCode: 2 },
    );
  }
  return buildSummary(sweepDir, manifest);
}

export function buildSummary(sweepDir: string, manifest: SweepManifest): SweepSummary {
  const trials = manifest.trials.map((record) => summarizeTrial(sweepDir, record, manifest.points[record.point]));
  const points = manifest.points.map((point) => summarizePoint(point, trials.filter((trial) => trial.point === point.index)));
  return {
    experiment: manifest.experiment,
    specHash: manifest.specHash,
    trialsPerPoint: manifest.trialsPerPoint,
    gridPaths: Object.keys(manifest.spec.sweep.grid),
    hasVariants: Object.keys(manifest.spec.sweep.variants).length > 0,
    points,
    trials,
  };
}

function summarizeTrial(sweepDir: string, record: TrialRecord, point: PointRecord | undefined): TrialSummary {
  const summary: TrialSummary = {
    slot: record.slot,
    id: record.id,
    point: record.point,
    seed: record.seed,
    label: record.label,
    status: record.status,
    reason: record.status === 'failed' || record.status === 'diverged' ? record.reason : null,
    log: record.log,
    accuracyWithoutText: null,
    accuracyWithText: null,
    macroF1WithoutText: null,
    macroF1WithText: null,
  };
  if (record.status !== 'done' || record.runDir === null) return summary;

  const metrics = readRunMetrics(path.join(sweepDir, record.runDir));
  const readsText = point?.readsText ?? true;
  summary.accuracyWithoutText = metrics.test.accuracyWithoutText;
  summary.macroF1WithoutText = macroF1(metrics.classes, metrics.confusionWithoutText);
  if (readsText && metrics.test.accuracyWithText !== null && metrics.confusionWithText !== null) {
    summary.accuracyWithText = metrics.test.accuracyWithText;
    summary.macroF1WithText = macroF1(metrics.classes, metrics.confusionWithText);
  }
  return summary;
}

function readRunMetrics(runDir: string): RunMetrics {
  const file = path.join(runDir, RUN_FILES.metrics.name);
  try {
    const metrics = JSON.parse(readFileSync(file, 'utf8')) as RunMetrics;
    if (typeof metrics.test?.accuracyWithoutText !== 'number' || !Array.isArray(metrics.confusionWithoutText)) {
      throw new Error('it lacks test.accuracyWithoutText or confusionWithoutText');
    }
    return metrics;
  } catch (error) {
    throw new TandemError(`Failed to read the metrics of a finished trial from ${file}: ${(error as Error).message}.`, { cause: error });
  }
}

/** Macro-F1 from confusion counts: the unweighted mean F1 over the classes that occur. */
function macroF1(classes: string[], counts: number[][]): number {
  const rates = counts.map((row) => row.map(() => 0));
  return classificationReport({ classes, counts, rates }).macroF1;
}

function summarizePoint(point: PointRecord, trials: TrialSummary[]): PointSummary {
  const count = (status: TrialState) => trials.filter((trial) => trial.status === status).length;
  const statistic = (key: keyof Metrics<unknown>) => describe(trials.flatMap((trial) => (trial[key] === null ? [] : [trial[key]])));
  return {
    point: point.index,
    label: point.label,
    variant: point.variant,
    grid: point.grid,
    readsText: point.readsText,
    trials: trials.length,
    finished: count('done'),
    failed: count('failed'),
    diverged: count('diverged'),
    unfinished: count('pending') + count('running'),
    accuracyWithoutText: statistic('accuracyWithoutText'),
    accuracyWithText: statistic('accuracyWithText'),
    macroF1WithoutText: statistic('macroF1WithoutText'),
    macroF1WithText: statistic('macroF1WithText'),
  };
}

/** Returns the mean and sample standard deviation of `values`, or null for no values. */
export function describe(values: number[]): Statistic | null {
  if (values.length === 0) return null;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return { mean, standardDeviation: null, values };
  const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return { mean, standardDeviation: Math.sqrt(squares / (values.length - 1)), values };
}

/** Writes summary.md, summary.csv and summary.json, and the plot for a one-parameter grid; returns the paths written. */
export async function writeSummary(sweepDir: string, summary: SweepSummary): Promise<string[]> {
  const written = [
    write(sweepPath(sweepDir, 'summaryMarkdown'), renderMarkdown(summary)),
    write(sweepPath(sweepDir, 'summaryCsv'), renderCsv(summary)),
    write(sweepPath(sweepDir, 'summaryJson'), `${JSON.stringify(summary, null, 2)}\n`),
  ];
  if (summary.gridPaths.length === 1) written.push(...(await writeSweepPlot(sweepDir, summary)));
  return written;
}

function write(file: string, contents: string): string {
  writeFileAtomic(file, contents);
  return file;
}

/** Formats a statistic of shares as percent: `82.4 ± 1.3`, `82.4` for one trial, `-` for none. */
export function formatPercent(statistic: Statistic | null): string {
  if (statistic === null) return '-';
  const mean = (statistic.mean * 100).toFixed(1);
  return statistic.standardDeviation === null ? mean : `${mean} ± ${(statistic.standardDeviation * 100).toFixed(1)}`;
}

/** Formats the trials cell: finished of planned, then any that failed, diverged or did not finish. */
function trialsCell(point: PointSummary): string {
  const notes = [
    point.failed > 0 ? `${point.failed} failed` : '',
    point.diverged > 0 ? `${point.diverged} diverged` : '',
    point.unfinished > 0 ? `${point.unfinished} unfinished` : '',
  ].filter((note) => note !== '');
  return `${point.finished}/${point.trials}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/** Returns the columns that identify a point: the variant, if any, and each grid path. */
function pointColumns(summary: SweepSummary): { header: string; value: (point: PointSummary) => string }[] {
  const columns: { header: string; value: (point: PointSummary) => string }[] = [];
  if (summary.hasVariants) columns.push({ header: 'variant', value: (point) => point.variant ?? '' });
  summary.gridPaths.forEach((gridPath, index) => {
    columns.push({ header: gridPath, value: (point) => formatValue(point.grid[index]?.value) });
  });
  if (columns.length === 0) columns.push({ header: 'point', value: (point) => point.label });
  return columns;
}

export function renderMarkdown(summary: SweepSummary): string {
  const columns = pointColumns(summary);
  const metrics = Object.keys(METRIC_NAMES) as (keyof Metrics<unknown>)[];
  const header = [...columns.map((column) => column.header), 'trials', ...metrics.map((key) => `${METRIC_NAMES[key]} (%)`)];
  const rows = summary.points.map((point) => [
    ...columns.map((column) => column.value(point)),
    trialsCell(point),
    ...metrics.map((key) => formatPercent(point[key])),
  ]);
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const table = [
    `| ${header.map(escape).join(' | ')} |`,
    `| ${header.map((_, index) => (index < columns.length ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];

  const seeds = summary.trialsPerPoint === 1 ? 'one seed' : `${summary.trialsPerPoint} seeds (the config's seed + 0 to ${summary.trialsPerPoint - 1})`;
  const lines = [
    `# Sweep ${summary.experiment}`,
    '',
    `Spec ${summary.specHash}, ${summary.points.length} point${summary.points.length === 1 ? '' : 's'} x ${seeds}.`,
    'Test accuracy and macro-F1 in percent: mean ± sample standard deviation over the finished trials.',
    '"trials" is finished of planned. "-" marks a metric with no finished trial, or accuracy with text for a model that does not read text.',
    '',
    ...table,
  ];

  const failed = summary.trials.filter((trial) => trial.status === 'failed' || trial.status === 'diverged');
  if (failed.length > 0) {
    lines.push('', '## Failed trials', '');
    for (const trial of failed) lines.push(`- ${trial.label} (trial ${trial.id}) ${trial.status}: ${trial.reason ?? 'no reason recorded'}. Log: ${trial.log}`);
  }
  const unfinished = summary.trials.filter((trial) => trial.status === 'pending' || trial.status === 'running').length;
  if (unfinished > 0) {
    lines.push('', `${unfinished} trial${unfinished === 1 ? ' has' : 's have'} not finished; run the sweep's config again to run ${unfinished === 1 ? 'it' : 'them'}.`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderCsv(summary: SweepSummary): string {
  const metrics = Object.keys(METRIC_NAMES) as (keyof Metrics<unknown>)[];
  const snake = (key: keyof Metrics<unknown>) => METRIC_NAMES[key].replace(/[ -]/g, '_').toLowerCase();
  const header = [
    'point',
    'variant',
    ...summary.gridPaths,
    'trials',
    'finished',
    'failed',
    'diverged',
    'unfinished',
    ...metrics.flatMap((key) => [`${snake(key)}_mean`, `${snake(key)}_sd`]),
  ];
  const rows = summary.points.map((point) => [
    point.point,
    point.variant ?? '',
    ...point.grid.map((entry) => formatValue(entry.value)),
    point.trials,
    point.finished,
    point.failed,
    point.diverged,
    point.unfinished,
    ...metrics.flatMap((key) => [point[key]?.mean ?? '', point[key]?.standardDeviation ?? '']),
  ]);
  return toCsv(header, rows);
}
