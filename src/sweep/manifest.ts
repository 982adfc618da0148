/**
 * The files of a sweep folder, named in one place, and the sweep manifest: every trial with its values,
 * status, failure reason, log and timings. Only the process that runs the sweep writes the manifest, and
 * always through an atomic rename, so a reader or a `kill -9` never leaves half a manifest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError, makeFolders, writeFileAtomic } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import type { SweepSpec } from './plan.ts';

/** Every file and folder of a sweep folder, with what it contains. */
export const SWEEP_FILES = {
  manifest: { name: 'manifest.json', description: 'every trial: values, seed, status, failure reason, log, run folder, timings' },
  summaryMarkdown: { name: 'summary.md', description: 'per point: accuracy without and with text, macro-F1, finished trials' },
  summaryCsv: { name: 'summary.csv', description: 'the same table, one row per point' },
  summaryJson: { name: 'summary.json', description: 'the same table with every trial value, and the failed trials' },
  plotSpec: { name: 'summary-plot.vl.json', description: 'Vega-Lite spec of the accuracy against the one grid parameter' },
  plotSvg: { name: 'summary-plot.svg', description: 'that plot rendered as SVG' },
  plotPng: { name: 'summary-plot.png', description: 'that plot rendered as PNG' },
  lock: { name: 'sweep.lock', description: 'the id of the process running the sweep; removed when it ends' },
  trials: { name: 'trials', description: 'folder: one folder per trial, named by the trial id' },
} as const;

export type SweepFile = keyof typeof SWEEP_FILES;

/** The files in each trial's folder, trials/<trial id>/, besides its run folders <name>/<run id>/. */
export const TRIAL_FILES = {
  config: { name: 'config.yaml', description: 'the trial\'s resolved config, which `tandem run` can run alone' },
  log: { name: 'trial.log', description: 'the output of every attempt at the trial' },
} as const;

/** Status of a trial in the manifest. */
export type TrialState = 'pending' | 'running' | 'done' | 'failed' | 'diverged';

/** One trial as the manifest records it. Paths are relative to the sweep folder. */
export interface TrialRecord {
  /** 0-based position in the sweep; see `PlannedTrial.slot`. */
  slot: number;
  id: string;
  point: number;
  repeat: number;
  seed: number;
  label: string;
  variant: string | null;
  /** The values the point sets, by config path: the variant's, then the grid's. */
  values: Record<string, unknown>;
  /** SHA-256 fingerprint of the data the trial reads, or null when it could not be computed. */
  dataFingerprint: string | null;
  status: TrialState;
  /** Reason of a failure or divergence, or of the return to pending; null when nothing went wrong. */
  reason: string | null;
  /** trials/<id>/trial.log. */
  log: string;
  /** The run folder of the latest attempt, or null before one was created. */
  runDir: string | null;
  /** How many times a trial process was started for it. */
  attempts: number;
  /** Start and end of the latest attempt (ISO 8601), and its length in seconds. */
  startTime: string | null;
  endTime: string | null;
  seconds: number | null;
}

/** One point of the sweep as the manifest records it. */
export interface PointRecord {
  index: number;
  label: string;
  variant: string | null;
  grid: { path: string; value: unknown }[];
  /** False for a model that ignores the report, which has no accuracy with text. */
  readsText: boolean;
}

/** One `tandem run` of the sweep. */
export interface Invocation {
  command: string[];
  pid: number;
  jobs: number;
  startTime: string;
  /** Null while it runs, and forever for one that was killed. */
  endTime: string | null;
}

export interface SweepManifest {
  /** Version of this file's layout. */
  format: 1;
  experiment: string;
  /** Absolute path of the config file that declares the sweep. */
  configFile: string;
  /** The `--set` options applied to every trial. */
  overrides: string[];
  specHash: string;
  spec: SweepSpec;
  /** The data fingerprints of the trials when they were planned, sorted. */
  dataFingerprints: string[];
  trialsPerPoint: number;
  points: PointRecord[];
  created: string;
  updated: string;
  invocations: Invocation[];
  trials: TrialRecord[];
}

/** Returns the path of a file of the sweep folder. */
export function sweepPath(sweepDir: string, file: SweepFile): string {
  return path.join(sweepDir, SWEEP_FILES[file].name);
}

/** Returns the folder of a trial, relative to the sweep folder. */
export function trialFolder(id: string): string {
  return path.join(SWEEP_FILES.trials.name, id);
}

/** Reads the manifest of a sweep folder; undefined when the folder has none. Throws TandemError when it is unreadable. */
export function readManifest(sweepDir: string): SweepManifest | undefined {
  const file = sweepPath(sweepDir, 'manifest');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TandemError(`Failed to read the sweep manifest ${file}: ${(error as Error).message}.`, { cause: error });
  }
  try {
    const manifest = JSON.parse(text) as SweepManifest;
    if (manifest.format !== 1 || !Array.isArray(manifest.trials)) throw new Error(`unknown format ${JSON.stringify(manifest.format)}`);
    return manifest;
  } catch (error) {
    throw new TandemError(
      `The sweep manifest ${file} is not valid: ${(error as Error).message}. ` +
        'It is only ever replaced whole, so it was changed by hand or by another program; restore it, or delete the sweep folder to start over.',
      { cause: error },
    );
  }
}

/** Writes the manifest with `updated` set to now, through a temporary file and a rename; creates the folder if needed. */
export function writeManifest(sweepDir: string, manifest: SweepManifest): void {
  try {
    makeFolders(sweepDir);
  } catch (error) {
    throw fileSystemError(sweepDir, error);
  }
  manifest.updated = new Date().toISOString();
  writeFileAtomic(sweepPath(sweepDir, 'manifest'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Finds the sweep folders under `experimentDir` whose manifest was made for `configFile`, most recently
 * updated first. Folders whose manifest is missing or unreadable are skipped.
 */
export function sweepsOfConfig(experimentDir: string, configFile: string): { sweepDir: string; manifest: SweepManifest }[] {
  let names: string[];
  try {
    names = readdirSync(experimentDir).filter((name) => name.startsWith('sweep-'));
  } catch {
    return [];
  }
  const found: { sweepDir: string; manifest: SweepManifest }[] = [];
  for (const name of names) {
    const sweepDir = path.join(experimentDir, name);
    try {
      const manifest = readManifest(sweepDir);
      if (manifest?.configFile === configFile) found.push({ sweepDir, manifest });
    } catch {
      // The config of an unreadable manifest is unknown. Running the sweep that owns it reports the problem.
    }
  }
  return found.sort((a, b) => b.manifest.updated.localeCompare(a.manifest.updated));
}
