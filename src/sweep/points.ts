/**
 * The points of a sweep: every variant combined with every grid point, each as the list of config values
 * it overrides and the place in the sweep section that sets each value.
 */
import type { SweepConfig } from '../config/schema.ts';

/** One config value that a point overrides. */
export interface PointOverride {
  /** Dotted config path as written in the sweep section, such as `model.textDropRate`. */
  path: string;
  value: unknown;
  /**
   * Path segments of the sweep entry that sets the value, for locating problems in the YAML:
   * ['sweep', 'grid', '<path>', '<index>'] or ['sweep', 'variants', '<variant>', '<path>'].
   */
  entry: string[];
}

/** One combination of a variant and a grid point; every trial of it differs only in the seed. */
export interface SweepPoint {
  /** 0-based position: variants in the order written, and within a variant the grid points. */
  index: number;
  /** The variant's name, or null when the sweep has no variants. */
  variant: string | null;
  /** The value of each grid path at this point, in the order the grid lists the paths. */
  grid: { path: string; value: unknown }[];
  /** The variant's values first, then the grid's. */
  overrides: PointOverride[];
  /** Tells the point apart from the others, such as `TandemNet-WVS` or `model.textDropRate=0.3`. */
  label: string;
}

/** A mistake in the sweep section that the schema cannot catch, at the entry that makes it. */
export interface SweepFinding {
  entry: string[];
  target: 'key' | 'value';
  message: string;
  fix: string;
}

/**
 * Lists the points of a sweep. The grid's first path changes slowest, as in nested loops written in the
 * grid's order. A sweep with neither grid nor variants has one point, the config itself.
 */
export function sweepPoints(sweep: SweepConfig): SweepPoint[] {
  const variants: (string | null)[] = Object.keys(sweep.variants).length > 0 ? Object.keys(sweep.variants) : [null];
  const gridPaths = Object.keys(sweep.grid);

  const points: SweepPoint[] = [];
  for (const variant of variants) {
    for (const choice of gridCombinations(gridPaths.map((path) => sweep.grid[path].length))) {
      const overrides: PointOverride[] = [];
      if (variant !== null) {
        for (const [path, value] of Object.entries(sweep.variants[variant])) {
          overrides.push({ path, value, entry: ['sweep', 'variants', variant, path] });
        }
      }
      const grid = gridPaths.map((path, position) => ({ path, value: sweep.grid[path][choice[position]] }));
      gridPaths.forEach((path, position) => {
        overrides.push({ path, value: grid[position].value, entry: ['sweep', 'grid', path, String(choice[position])] });
      });
      const parts = [...(variant === null ? [] : [variant]), ...grid.map(({ path, value }) => `${path}=${formatValue(value)}`)];
      points.push({ index: points.length, variant, grid, overrides, label: parts.length > 0 ? parts.join(', ') : 'base config' });
    }
  }
  return points;
}

/** Every choice of one index per list, for lists of the given lengths, with the last index changing fastest. */
function gridCombinations(lengths: readonly number[]): number[][] {
  let combinations: number[][] = [[]];
  for (const length of lengths) {
    combinations = combinations.flatMap((prefix) => Array.from({ length }, (_, index) => [...prefix, index]));
  }
  return combinations;
}

/**
 * Finds what the schema cannot: a path that the sweep cannot vary (the sweep section itself, `extends`)
 * and a path that both a variant and the grid set, whose value would depend on the order of merging.
 * Unknown paths and invalid values are left to the config loader, which checks each point.
 */
export function checkSweepSection(sweep: SweepConfig): SweepFinding[] {
  const findings: SweepFinding[] = [];
  const fixed = (path: string) => path === 'sweep' || path.startsWith('sweep.') || path === 'extends' || path.startsWith('extends.');
  for (const path of Object.keys(sweep.grid)) {
    if (fixed(path)) {
      findings.push({
        entry: ['sweep', 'grid', path],
        target: 'key',
        message: `the grid cannot vary \`${path}\``,
        fix: 'vary config values outside the sweep section, such as model.textDropRate; set sweep.trials for more seeds',
      });
    }
  }
  for (const [variant, values] of Object.entries(sweep.variants)) {
    for (const path of Object.keys(values)) {
      if (fixed(path)) {
        findings.push({
          entry: ['sweep', 'variants', variant, path],
          target: 'key',
          message: `a variant cannot set \`${path}\``,
          fix: 'set config values outside the sweep section, such as model.skipConnection',
        });
        continue;
      }
      const gridPath = Object.keys(sweep.grid).find((grid) => leafPaths(path, values[path]).some((leaf) => overlaps(grid, leaf)));
      if (gridPath !== undefined) {
        findings.push({
          entry: ['sweep', 'variants', variant, path],
          target: 'key',
          message: `variant \`${variant}\` sets \`${path}\`, which the grid also varies through \`${gridPath}\``,
          fix: `remove \`${path}\` from the variant, or remove \`${gridPath}\` from the grid`,
        });
      }
    }
  }
  return findings;
}

/** The dotted paths of the values that a variant entry sets: nested mappings merge key by key, so only their leaves replace values. */
function leafPaths(path: string, value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [path];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(`${path}.${key}`, child));
}

/** Whether one dotted path equals the other or lies inside it. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** Formats a value for a label: numbers, booleans, null and plain strings as they are, anything else as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w./+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
