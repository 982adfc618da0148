/**
 * Baseline files: the metrics of a finished run and the tolerance of each, which `tandem check` compares
 * a new run with. docs/reproducibility.md describes the format.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TandemError } from '../errors.ts';
import { metricKind, type FinishedRun, type FinishedSweep, type MetricKind, type MetricValues } from './metrics.ts';

export const BASELINE_FORMAT = 'tandem-baseline';
export const BASELINE_VERSION = 1;

/** Key of a single run's entry in `runs`. A sweep keys each trial by its label instead. */
export const SINGLE_RUN_KEY = 'run';

/** Key in `tolerances` whose tolerance applies to every metric without one of its own. */
export const ANY_METRIC = '*';

/**
 * The allowed difference between a baseline value b and a new value x: the check passes when
 * |x - b| <= max(absolute, relative * |b|), as in Python's math.isclose.
 */
export interface Tolerance {
  absolute: number;
  relative: number;
}

/** Provenance of a baseline's values, copied from the run's run.json. */
export interface BaselineSource {
  /** The run folder as <experiment>/<run id>, without the machine's path to it. */
  run: string;
  createdAt: string;
  commit: string | null;
  dirty: boolean | null;
  backend: string;
  /** Whether that backend promises bitwise identical results on one machine. */
  deterministic: boolean | null;
  versions: Record<string, string>;
  cpuModel: string | null;
  configSha256: string | null;
  dataSha256: string | null;
}

/** A baseline file as stored. */
export interface Baseline {
  format: typeof BASELINE_FORMAT;
  version: number;
  experiment: string;
  source: BaselineSource;
  /** Tolerance by metric name; `*` applies to the metrics without their own; a missing one is 0. */
  tolerances: Record<string, Partial<Tolerance>>;
  /** Metric values by run: `run` for a single run, a trial label for each trial of a sweep. */
  runs: Record<string, { metrics: MetricValues }>;
}

/** Default relative tolerance of a loss; see defaultTolerance. */
export const LOSS_RELATIVE_TOLERANCE = 1e-3;

/**
 * Return the default tolerance of a metric of `kind`, for runs with `samples` per split: exact for
 * counts, one sample for shares, and a relative 1e-3 for losses. On one machine and backend the wasm backend repeats
 * a run bitwise; these margins are for another x86 CPU, where the image resampling may differ. On
 * configs/smoke.yaml, changing 1% of the resized pixel bytes by one grey level moved the losses by at
 * most 4.5e-4 and changing the seed moved them by 2.6e-3 or more (tests/reproduce/pixel-sensitivity.ts).
 */
export function defaultTolerance(kind: MetricKind, samples: { train: number; validation: number; test: number }): Tolerance {
  const oneOf = (count: number) => (count > 0 ? 1 / count : 0);
  switch (kind) {
    case 'count':
      return { absolute: 0, relative: 0 };
    case 'test-share':
      return { absolute: oneOf(samples.test), relative: 0 };
    case 'validation-share':
      return { absolute: oneOf(samples.validation), relative: 0 };
    case 'train-share':
      return { absolute: oneOf(samples.train), relative: 0 };
    case 'loss':
      return { absolute: 0, relative: LOSS_RELATIVE_TOLERANCE };
  }
}

/** Build the baseline of a finished single run, with the default tolerance of every metric it has. */
export function createBaseline(run: FinishedRun): Baseline {
  return buildBaseline({ [SINGLE_RUN_KEY]: run }, run.runDir.split(path.sep).slice(-2).join('/'));
}

/**
 * Build the baseline of a finished sweep: each trial's metrics under its label, such as
 * `TandemNet-WVS, seed 1235`. The trials share one tolerance per metric, so a share's default allows one
 * sample of the smallest split among them. The provenance is the first trial's.
 */
export function createSweepBaseline(sweep: FinishedSweep): Baseline {
  return buildBaseline(sweep.runs, sweep.sweepDir.split(path.sep).slice(-2).join('/'));
}

/** Builds the baseline of `runs` by key, with `source.run` set to `sourceName`. */
function buildBaseline(runs: Record<string, FinishedRun>, sourceName: string): Baseline {
  const finished = Object.values(runs);
  if (finished.length === 0) throw new Error('A baseline needs at least one run.');
  const smallest = (split: 'train' | 'validation' | 'test') => Math.min(...finished.map((run) => run.samples[split]));
  const samples = { train: smallest('train'), validation: smallest('validation'), test: smallest('test') };
  const tolerances: Record<string, Partial<Tolerance>> = {};
  for (const name of new Set(finished.flatMap((run) => Object.keys(run.metrics)))) {
    const kind = metricKind(name);
    if (kind) tolerances[name] = defaultTolerance(kind, samples);
  }
  const record = finished[0].record;
  return {
    format: BASELINE_FORMAT,
    version: BASELINE_VERSION,
    experiment: record.experiment ?? 'unknown',
    source: {
      run: sourceName,
      createdAt: new Date().toISOString(),
      commit: record.source?.commit ?? null,
      dirty: record.source?.dirty ?? null,
      backend: record.backend?.name ?? 'unknown',
      deterministic: record.backend?.deterministic ?? null,
      versions: record.versions ?? {},
      cpuModel: record.host?.cpuModel ?? null,
      configSha256: record.configSha256 ?? null,
      dataSha256: record.data?.fingerprint?.sha256 ?? null,
    },
    tolerances,
    runs: Object.fromEntries(Object.entries(runs).map(([key, run]) => [key, { metrics: run.metrics }])),
  };
}

/** Returns whether `baseline` contains a sweep's trials rather than a single run. */
export function isSweepBaseline(baseline: Baseline): boolean {
  const keys = Object.keys(baseline.runs);
  return !(keys.length === 1 && keys[0] === SINGLE_RUN_KEY);
}

/** A baseline file that is missing, unreadable or malformed; the CLI exits 2 for it. */
export class BaselineError extends TandemError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: 2, ...options });
    this.name = 'BaselineError';
  }
}

/** Read and check a baseline file; throws BaselineError naming the file and the first problem. */
export function readBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'was not found' : `could not be read (${(error as Error).message})`;
    throw new BaselineError(`Baseline file ${file} ${problem}. Write one with \`tandem baseline <run or sweep folder> --output ${file}\`.`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(
      `Baseline file ${file} is not valid JSON: ${(error as Error).message}. Restore it from version control, or write it ` +
        `again with \`tandem baseline <run or sweep folder> --output ${file}\`.`,
      { cause: error },
    );
  }
  const problem = describeBaselineProblem(parsed);
  if (problem) throw new BaselineError(`Baseline file ${file} is invalid: ${problem}.`);
  return parsed as Baseline;
}

/** Describe the first problem of a parsed baseline file; null when it is valid. */
function describeBaselineProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'it is not a JSON object';
  if (value.format !== BASELINE_FORMAT) return `"format" must be "${BASELINE_FORMAT}"`;
  if (value.version !== BASELINE_VERSION) return `"version" is ${JSON.stringify(value.version)}; this tandem reads version ${BASELINE_VERSION}`;
  if (!isRecord(value.tolerances)) return '"tolerances" must be an object of metric name to { absolute, relative }';
  for (const [name, tolerance] of Object.entries(value.tolerances)) {
    if (!isRecord(tolerance)) return `tolerances["${name}"] must be an object with "absolute" and/or "relative"`;
    for (const [key, bound] of Object.entries(tolerance)) {
      if (key !== 'absolute' && key !== 'relative') return `tolerances["${name}"] has the unknown key "${key}"; allowed: absolute, relative`;
      if (typeof bound !== 'number' || !(bound >= 0)) return `tolerances["${name}"].${key} must be a number >= 0, not ${JSON.stringify(bound)}`;
    }
  }
  if (!isRecord(value.runs) || Object.keys(value.runs).length === 0) return '"runs" must be an object with at least one run';
  for (const [key, run] of Object.entries(value.runs)) {
    if (!isRecord(run) || !isRecord(run.metrics)) return `runs["${key}"] must be an object with "metrics"`;
    for (const [name, metric] of Object.entries(run.metrics)) {
      if (metric !== null && typeof metric !== 'number') return `runs["${key}"].metrics["${name}"] must be a number or null`;
    }
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Write `baseline` as the text of a baseline file. */
export function formatBaseline(baseline: Baseline): string {
  return `${JSON.stringify(baseline, null, 2)}\n`;
}
