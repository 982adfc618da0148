/**
 * The comparison behind `tandem check`: each baseline metric against the new run's value, within its
 * tolerance, and the table that shows the outcome.
 */
import { closestMatch } from '../config/suggest.ts';
import { ANY_METRIC, type Baseline, type Tolerance } from './baseline.ts';
import type { MetricValues } from './metrics.ts';

/** Tolerances given on the command line; they replace the baseline file's for the same metric. */
export interface ToleranceOverrides {
  absolute: Record<string, number>;
  relative: Record<string, number>;
}

/** The outcome for one metric of one run. */
export interface MetricComparison {
  /** The run's key in the baseline: `run`, or a trial label. */
  run: string;
  metric: string;
  baseline: number | null;
  now: number | null;
  /** now - baseline; null when either is missing. */
  difference: number | null;
  tolerance: Tolerance;
  /** The largest |difference| that passes: max(absolute, relative * |baseline|). */
  allowed: number;
  passed: boolean;
}

/** Look up the tolerance of `metric`: command line first, then the baseline's own, then its `*` entry, then 0. */
export function toleranceOf(metric: string, baseline: Baseline, overrides: ToleranceOverrides): Tolerance {
  const own = baseline.tolerances[metric] ?? {};
  const any = baseline.tolerances[ANY_METRIC] ?? {};
  return {
    absolute: overrides.absolute[metric] ?? overrides.absolute[ANY_METRIC] ?? own.absolute ?? any.absolute ?? 0,
    relative: overrides.relative[metric] ?? overrides.relative[ANY_METRIC] ?? own.relative ?? any.relative ?? 0,
  };
}

/**
 * Compare every metric of every baseline run with `current`, the new values by run key. A metric is
 * missing when one side is null and the other is not; a missing metric or a NaN fails. Metrics that only
 * the new run has are not compared.
 */
export function compareWithBaseline(
  baseline: Baseline,
  current: Record<string, MetricValues>,
  overrides: ToleranceOverrides = { absolute: {}, relative: {} },
): MetricComparison[] {
  const rows: MetricComparison[] = [];
  for (const [run, { metrics }] of Object.entries(baseline.runs)) {
    for (const [metric, expected] of Object.entries(metrics)) {
      const now = current[run]?.[metric] ?? null;
      const tolerance = toleranceOf(metric, baseline, overrides);
      const allowed = Math.max(tolerance.absolute, tolerance.relative * Math.abs(expected ?? 0));
      const difference = expected === null || now === null ? null : now - expected;
      const passed = difference === null ? expected === null && now === null : Math.abs(difference) <= allowed;
      rows.push({ run, metric, baseline: expected, now, difference, tolerance, allowed, passed });
    }
  }
  return rows;
}

/**
 * Check that every metric named in `overrides` exists in `baseline`; returns a message for the first
 * unknown one, with the closest known name, or null.
 */
export function findUnknownMetric(baseline: Baseline, overrides: ToleranceOverrides): string | null {
  const known = [...new Set(Object.values(baseline.runs).flatMap((run) => Object.keys(run.metrics)))];
  for (const name of [...Object.keys(overrides.absolute), ...Object.keys(overrides.relative)]) {
    if (name === ANY_METRIC || known.includes(name)) continue;
    const suggestion = closestMatch(name, known);
    return `The baseline has no metric "${name}".${suggestion ? ` Did you mean "${suggestion}"?` : ''} Known metrics: ${known.join(', ')}, or ${ANY_METRIC} for all.`;
  }
  return null;
}

/** Format a number for the table: up to 8 significant digits, exact integers as they are. */
function formatValue(value: number | null): string {
  if (value === null) return '-';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(8)));
}

function formatDifference(value: number | null): string {
  if (value === null) return '-';
  if (value === 0) return '0';
  return `${value > 0 ? '+' : ''}${Math.abs(value) < 1e-3 ? value.toExponential(2) : String(Number(value.toPrecision(4)))}`;
}

/**
 * Format the comparison as a text table with the columns metric, baseline, now, difference, tolerance
 * and result. The tolerance column shows the allowed absolute difference. A run column comes first when
 * the baseline has several runs.
 */
export function formatComparisonTable(rows: MetricComparison[]): string {
  const showRun = new Set(rows.map((row) => row.run)).size > 1;
  const header = [...(showRun ? ['run'] : []), 'metric', 'baseline', 'now', 'difference', 'tolerance', 'result'];
  const cells = rows.map((row) => [
    ...(showRun ? [row.run] : []),
    row.metric,
    formatValue(row.baseline),
    formatValue(row.now),
    formatDifference(row.difference),
    `±${Number.isInteger(row.allowed) ? row.allowed : Number(row.allowed.toPrecision(3))}`,
    row.passed ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column].length)));
  const formatLine = (line: string[]) => line.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [formatLine(header), ...cells.map(formatLine)].join('\n');
}
