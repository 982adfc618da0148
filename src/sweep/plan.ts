/**
 * Planning a sweep: resolve every point of the sweep section through the config loader, as if its values
 * were `--set` options, and turn each point and seed into a trial with a content-derived id. Problems
 * with a point's values point at the grid or variant entry in the YAML that set them.
 */
import path from 'node:path';
import { composeFiles } from '../config/compose.ts';
import { checkConfig, loadConfig, type LoadedConfig } from '../config/load.ts';
import { isMapping, mergeLayers, rebaseFilePaths, updateFilePaths } from '../config/merge.ts';
import { parseOverrides } from '../config/overrides.ts';
import {
  COMMAND_LINE,
  ConfigError,
  formatConfigPath,
  formatProblems,
  sortProblems,
  type ConfigProblem,
} from '../config/problems.ts';
import type { DataConfig, ExperimentConfig, SweepConfig } from '../config/schema.ts';
import type { Locator } from '../config/source.ts';
import { fingerprintData } from '../data/fingerprint.ts';
import { TandemError } from '../errors.ts';
import { canonicalJson, contentId } from './canonical.ts';
import { checkSweepSection, sweepPoints, type PointOverride, type SweepPoint } from './points.ts';

/** The largest seed the schema allows. */
const MAX_SEED = 4294967295;

/**
 * Problem codes that depend on the machine rather than on the sweep, such as a pretrained-weights file
 * that has not been downloaded. A point with only these errors does not stop the sweep: its trials are
 * recorded as failed with the problem as the reason, and run once the problem is fixed.
 */
const MACHINE_DEPENDENT_CODES: ReadonlySet<string> = new Set(['cross-field/backbone-weights-missing']);

/** The content of a sweep. A change to any of it makes a different sweep, in a different folder. */
export interface SweepSpec {
  /** The resolved config without the sweep section and without data.root and output.root (see `hashableConfig`). */
  config: Record<string, unknown>;
  sweep: SweepConfig;
}

/** One trial: one point of the sweep with one seed. */
export interface PlannedTrial {
  /** 0-based position in the sweep: point index x trials per point + repeat. */
  slot: number;
  point: number;
  /** 0-based trial index within the point; the trial's seed is the point's seed plus this. */
  repeat: number;
  /** The trial's seed: the point's seed plus `repeat`. */
  seed: number;
  /** The point's label and the seed, such as `TandemNet-WVS, seed 1235`. */
  label: string;
  /** Hash of the trial's resolved config and its data fingerprint; see `trialId`. */
  id: string;
  /**
   * The trial's resolved config, without the sweep section; its relative file paths are relative to the
   * sweep's config file. Null when `blocked` is set because of a config problem.
   */
  config: ExperimentConfig | null;
  /** SHA-256 fingerprint of the data set the trial reads, or null when it cannot be computed. */
  dataFingerprint: string | null;
  /** Reason that the trial cannot run on this machine (a missing weights file or data set), or null. */
  blocked: string | null;
}

/** A sweep ready to run: its spec, points and trials, and where it is kept. */
export interface SweepPlan {
  /** Absolute path of the config file. */
  configFile: string;
  configDir: string;
  /** The `--set` options applied to every trial. */
  overrides: string[];
  /** The resolved config, sweep section included. */
  base: ExperimentConfig;
  spec: SweepSpec;
  /** `contentId(spec)`, which names the sweep folder. */
  specHash: string;
  /** <output.root>/<name>, the folder that contains this experiment's sweeps. */
  experimentDir: string;
  /** <experimentDir>/sweep-<specHash>. */
  sweepDir: string;
  points: SweepPoint[];
  trials: PlannedTrial[];
  /** The distinct data fingerprints of the trials, sorted. */
  dataFingerprints: string[];
  /** Warnings about the points' configs, formatted with their source lines; '' when there are none. */
  warnings: string;
}

export interface PlanOptions {
  /** `--set` options, applied to every trial before the point's own values. */
  overrides?: readonly string[];
  /** Folder that relative paths in `overrides` resolve against; the working directory by default. */
  workingDirectory?: string;
  /** Returns the SHA-256 fingerprint of the data set that a data section reads; `fingerprintData` by default. */
  fingerprint?: (data: DataConfig, configDir: string) => Promise<string>;
}

/**
 * Plans the sweep of the config `loaded`, which must have a sweep section and must have been loaded with
 * `options.overrides`. Throws a ConfigError that lists every problem of every point, located at the
 * sweep entries that cause them. A point whose only errors depend on the machine (see
 * `MACHINE_DEPENDENT_CODES`) does not throw, and its trials are planned as blocked.
 */
export async function planSweep(loaded: LoadedConfig, options: PlanOptions = {}): Promise<SweepPlan> {
  const sweep = loaded.config.sweep;
  if (sweep === undefined) throw new Error('planSweep needs a config with a sweep section.');
  const overrides = [...(options.overrides ?? [])];
  const workingDirectory = options.workingDirectory ?? process.cwd();
  const locate = sweepLocator(loaded.file, overrides, workingDirectory);
  const sources = new Map(loaded.sources);

  const sectionProblems = checkSweepSection(sweep).map((finding) =>
    problemAt(locate, finding.entry, finding.target, { code: 'cross-field/sweep', message: finding.message, fix: finding.fix }),
  );
  if (sectionProblems.length > 0) throw new ConfigError(sectionProblems, sources);

  const spec: SweepSpec = { config: hashableConfig(withoutSweep(loaded.config), loaded.dir), sweep };
  const specHash = contentId(spec);
  const experimentDir = path.join(path.resolve(loaded.dir, loaded.config.output.root), loaded.config.name);
  const points = sweepPoints(sweep);
  const baseWarnings = new Set(loaded.warnings.map(problemKey));

  const collected = new ProblemCollector();
  const resolved: { point: SweepPoint; config: ExperimentConfig | null; blocked: string | null }[] = [];
  for (const point of points) {
    const pointOptions = point.overrides.map((override) => overrideOption(override, locate, workingDirectory));
    const check = checkConfig(loaded.file, { overrides: [...overrides, ...pointOptions], workingDirectory });
    for (const [file, lines] of check.sources) if (!sources.has(file)) sources.set(file, lines);

    const problems = check.problems
      .filter((problem) => !baseWarnings.has(problemKey(problem)))
      .map((problem) => ({ problem: relocate(problem, point, overrides.length, locate), atSweepEntry: isPointOverride(problem, overrides.length) }));
    const errors = problems.map(({ problem }) => problem).filter((problem) => problem.severity === 'error');
    const machineOnly = errors.length > 0 && errors.every((problem) => MACHINE_DEPENDENT_CODES.has(problem.code));
    for (const { problem, atSweepEntry } of problems) {
      collected.add(problem, point.label, machineOnly ? 'warning' : problem.severity, atSweepEntry);
    }

    const blocked = machineOnly ? errors.map((problem) => `${problem.message}${problem.fix ? `; fix: ${problem.fix}` : ''}`).join('; ') : null;
    resolved.push({ point, config: check.config === undefined ? null : withoutSweep(check.config), blocked });
  }
  if (collected.hasErrors()) throw new ConfigError(collected.problems(), sources);
  const seedProblems = resolved.flatMap(({ point, config }) => {
    if (config === null || config.seed + sweep.trials - 1 <= MAX_SEED) return [];
    return [
      problemAt(locate, ['sweep', 'trials'], 'value', {
        code: 'cross-field/sweep',
        message: `the last trial of ${point.label} would have seed ${config.seed + sweep.trials - 1}, above the largest seed ${MAX_SEED}`,
        fix: `lower seed to ${MAX_SEED - sweep.trials + 1} or less, or lower sweep.trials`,
      }),
    ];
  });
  if (seedProblems.length > 0) throw new ConfigError(seedProblems, sources);

  const fingerprints = new FingerprintCache(options.fingerprint ?? (async (data, dir) => (await fingerprintData(data, dir)).sha256));
  const trials: PlannedTrial[] = [];
  for (const { point, config, blocked } of resolved) {
    for (let repeat = 0; repeat < sweep.trials; repeat++) {
      trials.push(await planTrial({ point, config, blocked, repeat, trialsPerPoint: sweep.trials, baseSeed: loaded.config.seed, configDir: loaded.dir, specHash, fingerprints }));
    }
  }
  const duplicates = duplicateTrialProblems(trials, points, locate);
  if (duplicates.length > 0) throw new ConfigError(duplicates, sources);

  const warnings = collected.problems();
  return {
    configFile: loaded.file,
    configDir: loaded.dir,
    overrides,
    base: loaded.config,
    spec,
    specHash,
    experimentDir,
    sweepDir: path.join(experimentDir, `sweep-${specHash}`),
    points,
    trials,
    dataFingerprints: [...new Set(trials.flatMap((trial) => (trial.dataFingerprint === null ? [] : [trial.dataFingerprint])))].sort(),
    warnings: warnings.length === 0 ? '' : formatProblems(warnings, sources),
  };
}

/** Loads `file` with `overrides` and plans its sweep; a shortcut for tests and tools. */
export async function planSweepFile(file: string, options: PlanOptions = {}): Promise<SweepPlan> {
  const loaded = loadConfig(file, { overrides: options.overrides, workingDirectory: options.workingDirectory });
  return planSweep(loaded, options);
}

interface TrialInputs {
  point: SweepPoint;
  config: ExperimentConfig | null;
  blocked: string | null;
  repeat: number;
  trialsPerPoint: number;
  /** The seed of the config without the point's values. */
  baseSeed: number;
  configDir: string;
  specHash: string;
  fingerprints: FingerprintCache;
}

async function planTrial(inputs: TrialInputs): Promise<PlannedTrial> {
  const { point, repeat, configDir } = inputs;
  const slot = point.index * inputs.trialsPerPoint + repeat;
  if (inputs.config === null) {
    // Without a resolved config, the id can only come from the sweep section's values for the trial.
    const values = Object.fromEntries(point.overrides.map((override) => [override.path, override.value]));
    const id = contentId({ unresolved: { spec: inputs.specHash, values, repeat } });
    const pointSeed = typeof values.seed === 'number' ? values.seed : inputs.baseSeed;
    const seed = pointSeed + repeat;
    return { slot, point: point.index, repeat, seed, label: `${point.label}, seed ${seed}`, id, config: null, dataFingerprint: null, blocked: inputs.blocked };
  }

  const config = structuredClone(inputs.config);
  config.seed = inputs.config.seed + repeat;

  let dataFingerprint: string | null = null;
  let blocked = inputs.blocked;
  try {
    dataFingerprint = await inputs.fingerprints.get(config.data, configDir);
  } catch (error) {
    if (!(error instanceof TandemError)) throw error;
    blocked ??= error.message;
  }
  const id = trialId(config, configDir, dataFingerprint);
  return { slot, point: point.index, repeat, seed: config.seed, label: `${point.label}, seed ${config.seed}`, id, config, dataFingerprint, blocked };
}

/**
 * Returns the id of a trial: a hash of its resolved config, without the locations data.root and
 * output.root, and of the fingerprint of the data it reads. The same config on the same data has the
 * same id wherever the data and the results are kept.
 */
export function trialId(config: ExperimentConfig, configDir: string, dataFingerprint: string | null): string {
  return contentId({ config: hashableConfig(config, configDir), data: dataFingerprint });
}

/**
 * Returns the config as it enters hashes: without the sweep section, data.root (the data fingerprint
 * represents the data) and output.root (where results go does not change them), and with absolute file
 * paths made relative to `configDir`.
 */
export function hashableConfig(config: ExperimentConfig, configDir: string): Record<string, unknown> {
  const copy = structuredClone(withoutSweep(config)) as unknown as Record<string, unknown>;
  updateFilePaths(copy, (value) => (path.isAbsolute(value) ? path.relative(configDir, value) || '.' : value));
  delete (copy.data as Record<string, unknown>).root;
  delete (copy.output as Record<string, unknown>).root;
  return copy;
}

/** Returns a copy of the config without its sweep section. */
export function withoutSweep(config: ExperimentConfig): ExperimentConfig {
  const { sweep: _sweep, ...rest } = config;
  return structuredClone(rest);
}

/** Returns a locator for the config file and `--set` options, which finds where the sweep section sets each value. */
function sweepLocator(file: string, overrides: readonly string[], workingDirectory: string): Locator {
  const composed = composeFiles(file);
  const parsed = parseOverrides(overrides, workingDirectory);
  const dir = path.dirname(file);
  return mergeLayers([...composed.layers, ...parsed.layers].map((layer) => rebaseFilePaths(layer, dir))).locate;
}

/**
 * Writes a point's value as a `--set` option. JSON is valid YAML, so the loader reads back the same value.
 * A relative file path is made absolute against the folder of the file that wrote the sweep entry, as the
 * loader does for paths written in config files.
 */
function overrideOption(override: PointOverride, locate: Locator, workingDirectory: string): string {
  const segments = override.path.split('.');
  const nested: Record<string, unknown> = {};
  let parent = nested;
  for (const segment of segments.slice(0, -1)) {
    const child: Record<string, unknown> = {};
    parent[segment] = child;
    parent = child;
  }
  parent[segments[segments.length - 1]] = structuredClone(override.value);

  const { file } = locate(override.entry, 'value');
  const entryDir = file === COMMAND_LINE || file === '' ? workingDirectory : path.dirname(path.resolve(file));
  updateFilePaths(nested, (value) => (value === '' || path.isAbsolute(value) ? value : path.resolve(entryDir, value)));
  const value = segments.reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), nested);
  return `${override.path}=${yamlText(value)}`;
}

function yamlText(value: unknown): string {
  if (typeof value === 'number' && Number.isNaN(value)) return '.nan';
  if (typeof value === 'number' && !Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  return JSON.stringify(value) ?? 'null';
}

/**
 * Moves a problem that the loader found in one of the point's `--set` options to the sweep entry that
 * wrote the value. Other problems of the point keep their place.
 */
function relocate(problem: ConfigProblem, point: SweepPoint, userOverrides: number, locate: Locator): ConfigProblem {
  if (!isPointOverride(problem, userOverrides)) return problem;
  const override = point.overrides[problem.line - userOverrides - 1];
  if (override === undefined) return problem;

  const overrideSegments = override.path.split('.');
  const problemSegments = problem.path.match(/[^.[\]"]+/g) ?? [];
  const inside = overrideSegments.every((segment, index) => problemSegments[index] === segment)
    ? problemSegments.slice(overrideSegments.length)
    : [];
  const entry = [...override.entry, ...inside];
  const target = problem.code === 'unknown-key' ? 'key' : 'value';
  return { ...problem, ...locate(entry, target), path: formatConfigPath(entry) };
}

/** Returns whether the loader found the problem in one of the point's own `--set` options, which follow the user's. */
function isPointOverride(problem: ConfigProblem, userOverrides: number): boolean {
  return problem.file === COMMAND_LINE && problem.line > userOverrides;
}

function problemAt(
  locate: Locator,
  entry: string[],
  target: 'key' | 'value',
  fields: Pick<ConfigProblem, 'code' | 'message' | 'fix'>,
): ConfigProblem {
  return { ...fields, ...locate(entry, target), path: formatConfigPath(entry), severity: 'error' };
}

/** Identifies a problem by place and text, to report a problem shared by several points once. */
function problemKey(problem: ConfigProblem): string {
  return [problem.file, problem.line, problem.column, problem.code, problem.message].join('\u0000');
}

/** The problems of all points, each once, with the labels of the points that have it. */
class ProblemCollector {
  private readonly byKey = new Map<string, { problem: ConfigProblem; labels: string[]; atSweepEntry: boolean }>();

  /** Adds a problem of the point `label`; `atSweepEntry` marks one located at the entry that caused it. */
  add(problem: ConfigProblem, label: string, severity: 'error' | 'warning', atSweepEntry: boolean): void {
    const key = problemKey(problem);
    const found = this.byKey.get(key);
    if (found === undefined) this.byKey.set(key, { problem: { ...problem, severity }, labels: [label], atSweepEntry });
    else if (!found.labels.includes(label)) found.labels.push(label);
  }

  hasErrors(): boolean {
    return [...this.byKey.values()].some(({ problem }) => problem.severity === 'error');
  }

  problems(): ConfigProblem[] {
    const all = [...this.byKey.values()].map(({ problem, labels, atSweepEntry }) => {
      // The place of a problem at a sweep entry already shows which points have it.
      if (atSweepEntry) return problem;
      const shown = labels.slice(0, 3).join('; ');
      const points = labels.length === 1 ? `sweep point ${shown}` : `sweep points ${shown}${labels.length > 3 ? ` and ${labels.length - 3} more` : ''}`;
      return { ...problem, message: `${problem.message} (${points})` };
    });
    return sortProblems(all);
  }
}

/** Fingerprints the data set of each distinct data section once. */
class FingerprintCache {
  private readonly byData = new Map<string, Promise<string>>();

  constructor(private readonly compute: (data: DataConfig, configDir: string) => Promise<string>) {}

  get(data: DataConfig, configDir: string): Promise<string> {
    const key = canonicalJson({ data, configDir });
    let found = this.byData.get(key);
    if (found === undefined) {
      found = this.compute(data, configDir);
      this.byData.set(key, found);
    }
    return found;
  }
}

/** Rejects two points whose trials would be the same: running them twice would only repeat the same result. */
function duplicateTrialProblems(trials: readonly PlannedTrial[], points: readonly SweepPoint[], locate: Locator): ConfigProblem[] {
  const firstById = new Map<string, PlannedTrial>();
  const problems: ConfigProblem[] = [];
  const reported = new Set<string>();
  for (const trial of trials) {
    const first = firstById.get(trial.id);
    if (first === undefined) {
      firstById.set(trial.id, trial);
      continue;
    }
    const pair = `${first.point}/${trial.point}`;
    if (reported.has(pair)) continue;
    reported.add(pair);
    const point = points[trial.point];
    const entry = point.variant !== null ? ['sweep', 'variants', point.variant] : (point.overrides[0]?.entry ?? ['sweep']);
    problems.push(
      problemAt(locate, entry, 'key', {
        code: 'cross-field/sweep',
        message:
          first.point === trial.point
            ? `${point.label} repeats the same trial (${first.label} and ${trial.label} resolve to the same config)`
            : `${point.label} resolves to the same config as ${points[first.point].label}, so their trials would be identical`,
        fix: 'remove one of them, or make them differ in a value that changes the run',
      }),
    );
  }
  return problems;
}
