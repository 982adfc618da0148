/**
 * Resuming a sweep: find the sweep folder of a plan, refuse a spec that changed since the sweep started,
 * and decide for each trial whether it is kept, run or rerun.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RUN_FILES } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import { diffByPath, formatChanges } from './canonical.ts';
import { readManifest, sweepsOfConfig, trialFolder, TRIAL_FILES, type SweepManifest, type TrialRecord } from './manifest.ts';
import type { PlannedTrial, SweepPlan, SweepSpec } from './plan.ts';
import type { SweepPoint } from './points.ts';

export interface ResumeOptions {
  /** Run failed and diverged trials again. */
  retryFailed?: boolean;
  /** Accept a spec or data set that changed since the sweep started. */
  restart?: boolean;
  /** Recorded in the manifest of a new sweep. */
  now?: Date;
}

/** The state that a run of the sweep starts from. */
export interface PreparedSweep {
  /** The manifest to write: the stored one brought up to date, or a new one. */
  manifest: SweepManifest;
  /** Whether the sweep folder already had a manifest. */
  resumed: boolean;
  /** The trials to run now, in slot order. */
  toRun: TrialRecord[];
  /** The trials that cannot run on this machine (see `PlannedTrial.blocked`), recorded as failed. */
  blocked: TrialRecord[];
  /** Lines that tell the user what resuming found, such as trials found finished after a crash. */
  notes: string[];
}

/** A sweep that cannot go on without `--restart`; exit code 2 like other invalid input. */
export class SweepChangedError extends TandemError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'SweepChangedError';
  }
}

/**
 * Compares the plan with the latest sweep of the same config file and with the manifest in the plan's
 * sweep folder, and returns the manifest to run from. Writes nothing. Throws SweepChangedError when the
 * spec or the data changed and `restart` is not set.
 */
export function prepareSweep(plan: SweepPlan, options: ResumeOptions = {}): PreparedSweep {
  const latest = sweepsOfConfig(plan.experimentDir, plan.configFile)[0];
  if (latest !== undefined && latest.manifest.specHash !== plan.specHash && !options.restart) {
    const changes = diffByPath(specByPath(latest.manifest.spec), specByPath(plan.spec));
    throw new SweepChangedError(
      `The sweep of ${plan.configFile} changed since it started in ${latest.sweepDir}:\n` +
        `${indent(formatChanges(changes))}\n` +
        `Undo the change to resume that sweep, or run again with --restart to start the changed sweep in ${plan.sweepDir}; ` +
        'the earlier sweep folder is kept as it is.',
    );
  }

  const stored = readManifest(plan.sweepDir);
  const notes: string[] = [];
  if (stored !== undefined) {
    const dataChanges = changedFingerprints(stored, plan.trials);
    if (dataChanges.length > 0 && !options.restart) {
      throw new SweepChangedError(
        `The data set changed since the sweep in ${plan.sweepDir} started: its fingerprint is now ${dataChanges.join(', ')}.\n` +
          'Restore the data to resume the sweep, or run again with --restart to rerun the trials on the new data ' +
          'in the same folder; trials whose config and data are unchanged keep their results.',
      );
    }
  }

  const manifest = stored === undefined ? newManifest(plan, options.now ?? new Date()) : refreshedManifest(stored, plan);
  const records: TrialRecord[] = [];
  for (const trial of plan.trials) {
    const previous = stored?.trials.find((record) => record.slot === trial.slot);
    records.push(resumeTrial(plan.sweepDir, trial, previous, plan.points[trial.point], options, notes));
  }
  manifest.trials = records;
  if (stored !== undefined) {
    const count = (status: TrialRecord['status']) => records.filter((record) => record.status === status).length;
    const failed = count('failed') + count('diverged');
    notes.unshift(
      `Resuming the sweep in ${plan.sweepDir}: ${count('done')} of ${records.length} trials done` +
        (failed > 0 ? `, ${failed} failed or diverged (kept${options.retryFailed ? '' : '; --retry-failed runs them again'})` : '') +
        `, ${count('pending')} to run.`,
    );
  }

  return {
    manifest,
    resumed: stored !== undefined,
    toRun: records.filter((record) => record.status === 'pending'),
    blocked: records.filter((record) => plan.trials[record.slot].blocked !== null),
    notes,
  };
}

/** Returns the spec as one config, so that changes are named by their config paths, such as `train.epochs` or `sweep.trials`. */
function specByPath(spec: SweepSpec): Record<string, unknown> {
  return { ...spec.config, sweep: spec.sweep };
}

/** Lists `old -> new` for trials whose data fingerprint changed; a fingerprint that was missing and now exists is no change. */
function changedFingerprints(stored: SweepManifest, trials: readonly PlannedTrial[]): string[] {
  const changes = new Set<string>();
  for (const trial of trials) {
    const before = stored.trials.find((record) => record.slot === trial.slot)?.dataFingerprint ?? null;
    if (before !== null && trial.dataFingerprint !== null && before !== trial.dataFingerprint) {
      changes.add(`${trial.dataFingerprint.slice(0, 12)} (was ${before.slice(0, 12)})`);
    }
  }
  return [...changes];
}

function newManifest(plan: SweepPlan, now: Date): SweepManifest {
  const time = now.toISOString();
  return {
    format: 1,
    experiment: plan.base.name,
    configFile: plan.configFile,
    overrides: plan.overrides,
    specHash: plan.specHash,
    spec: plan.spec,
    dataFingerprints: plan.dataFingerprints,
    trialsPerPoint: plan.base.sweep?.trials ?? 1,
    points: plan.points.map((point) => ({
      index: point.index,
      label: point.label,
      variant: point.variant,
      grid: point.grid,
      readsText: pointReadsText(plan, point.index),
    })),
    created: time,
    updated: time,
    invocations: [],
    trials: [],
  };
}

/** Returns the stored manifest updated with what a plan may change without changing the spec: the data, and blocked points. */
function refreshedManifest(stored: SweepManifest, plan: SweepPlan): SweepManifest {
  const fresh = newManifest(plan, new Date(stored.created));
  return { ...fresh, configFile: stored.configFile, overrides: plan.overrides, created: stored.created, updated: stored.updated, invocations: stored.invocations };
}

/**
 * Returns whether the point's model reads the report. An image-only model has no accuracy with text.
 * NOTE: only `model.type: image-only` counts as a model without text. A new model type that ignores text needs adding here.
 */
function pointReadsText(plan: SweepPlan, point: number): boolean {
  const config = plan.trials.find((trial) => trial.point === point && trial.config !== null)?.config;
  return (config?.model as { type?: string } | undefined)?.type !== 'image-only';
}

/** Decides the record of one trial from its plan and its record in the stored manifest, if any. */
function resumeTrial(
  sweepDir: string,
  trial: PlannedTrial,
  previous: TrialRecord | undefined,
  point: SweepPoint,
  options: ResumeOptions,
  notes: string[],
): TrialRecord {
  const folder = trialFolder(trial.id);
  const sameTrial = previous !== undefined && previous.id === trial.id;
  const record: TrialRecord = sameTrial
    ? { ...previous, label: trial.label, dataFingerprint: trial.dataFingerprint }
    : {
        slot: trial.slot,
        id: trial.id,
        point: trial.point,
        repeat: trial.repeat,
        seed: trial.seed,
        label: trial.label,
        variant: point.variant,
        values: Object.fromEntries(point.overrides.map((override) => [override.path, override.value])),
        dataFingerprint: trial.dataFingerprint,
        status: 'pending',
        reason: null,
        log: path.join(folder, TRIAL_FILES.log.name),
        runDir: null,
        attempts: 0,
        startTime: null,
        endTime: null,
        seconds: null,
      };

  if (trial.blocked !== null) return { ...record, status: 'failed', reason: trial.blocked };

  if (record.status === 'done') {
    if (record.runDir !== null && isFinishedRun(path.join(sweepDir, record.runDir))) return record;
    notes.push(`${record.label}: its run folder ${record.runDir ?? '(none)'} is missing or unfinished, so it runs again.`);
    return { ...record, status: 'pending', reason: 'its run folder was missing or unfinished', runDir: null };
  }

  // A trial process can finish after the sweep process died, so look for a finished run before rerunning.
  const finished = finishedRuns(sweepDir, folder);
  if (finished.length > 0 && record.status !== 'failed' && record.status !== 'diverged') {
    const runDir = finished[finished.length - 1];
    if (record.status === 'running') notes.push(`${record.label}: found finished in ${runDir} although the sweep stopped while it ran; kept.`);
    return { ...record, status: 'done', reason: null, runDir };
  }
  if (record.status === 'running') {
    notes.push(`${record.label}: was running when the sweep stopped, so it runs again.`);
    return { ...record, status: 'pending', reason: 'interrupted: the sweep stopped while it ran' };
  }
  if ((record.status === 'failed' || record.status === 'diverged') && options.retryFailed) {
    return { ...record, status: 'pending', reason: `${record.status} before: ${record.reason ?? 'no reason recorded'}` };
  }
  return record;
}

/** Returns whether a run folder contains a finished run, by the marker that a run writes last. */
export function isFinishedRun(runDir: string): boolean {
  return existsSync(path.join(runDir, RUN_FILES.complete.name));
}

/**
 * Returns the finished run folders under a trial folder, relative to the sweep folder, oldest first. A
 * trial's runs are at trials/<id>/<experiment name>/<run id>/, and run ids sort by start time.
 */
export function finishedRuns(sweepDir: string, folder: string): string[] {
  const found: string[] = [];
  for (const experiment of subfolders(path.join(sweepDir, folder))) {
    for (const run of subfolders(path.join(sweepDir, folder, experiment))) {
      const runDir = path.join(folder, experiment, run);
      if (isFinishedRun(path.join(sweepDir, runDir))) found.push(runDir);
    }
  }
  return found.sort();
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}
