/**
 * Running a sweep: each pending trial in its own process, up to `jobs` at once, with the manifest
 * rewritten after every change of status, then the summary. A trial process that crashes or is killed
 * loses only its own attempt, and a killed sweep process loses no finished trial.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError, makeFolders, RUN_FILES, writeFileAtomic } from '../artifacts/files.ts';
import { renderConfig } from '../config/render.ts';
import type { EventListener, TrialStatus } from '../events.ts';
import { trialFolder, TRIAL_FILES, writeManifest, type SweepManifest, type TrialRecord, type TrialState } from './manifest.ts';
import type { SweepPlan } from './plan.ts';
import { isTrialMessage, TRIAL_EXIT_CODES, type TrialOutcome } from './protocol.ts';
import { finishedRuns, isFinishedRun, type PreparedSweep } from './resume.ts';
import { buildSummary, writeSummary } from './summary.ts';

/** Name of the headline metric of `trial-end` events. */
export const HEADLINE_METRIC = 'test accuracy without text';

/** The status of a `trial-end` event for each outcome of a trial. */
const EVENT_STATUS: Record<TrialOutcome, TrialStatus> = { done: 'complete', failed: 'failed', diverged: 'failed', interrupted: 'interrupted' };

/**
 * Starts the process of one trial: `configFile` is the trial's config, `logFd` an open file for its
 * stdout and stderr. The process must have an IPC channel, send `TrialMessage`s over it and exit with a
 * `TRIAL_EXIT_CODES` code.
 */
export type TrialLauncher = (configFile: string, logFd: number) => ChildProcess;

export interface SweepRunOptions {
  emit: EventListener;
  launch: TrialLauncher;
  /** Trials run at once. */
  jobs: number;
  /** Stop the sweep at the first failed or diverged trial, interrupting the others. */
  failFast?: boolean;
  /** The command line, recorded in the manifest. */
  command?: string[];
}

/** The end state of a run of the sweep, over every trial of the sweep, not only those run now. */
export interface SweepResult {
  sweepDir: string;
  status: 'complete' | 'failed' | 'interrupted';
  counts: Record<TrialState, number>;
  /** The summary files written. */
  summaryFiles: string[];
}

interface ActiveTrial {
  record: TrialRecord;
  /** 1-based number of the trial among those run now, as the events show it. */
  number: number;
  child: ChildProcess;
  outcome: { outcome: TrialOutcome; reason: string | null } | null;
  started: number;
}

/**
 * One run of a prepared sweep. Call `run` once, while holding the sweep's lock (see `acquireSweepLock`)
 * from before `prepareSweep`. `stop` and `kill` may come at any time from a signal handler.
 */
export class SweepRunner {
  private readonly manifest: SweepManifest;
  private readonly sweepDir: string;
  private readonly queue: TrialRecord[];
  private readonly active = new Map<number, ActiveTrial>();
  private stopping: 'no' | 'stop' | 'kill' = 'no';
  private failedNow = false;
  private started = 0;
  private readonly total: number;
  private readonly results: { number: number; status: TrialState | 'interrupted'; metric: number | null }[] = [];

  constructor(
    private readonly plan: SweepPlan,
    private readonly prepared: PreparedSweep,
    private readonly options: SweepRunOptions,
  ) {
    this.manifest = prepared.manifest;
    this.sweepDir = plan.sweepDir;
    this.queue = [...prepared.toRun];
    this.total = prepared.toRun.length + prepared.blocked.length;
  }

  /** Stops starting trials and sends SIGINT to the running ones, which stop after their current step and go back to pending. */
  stop(): void {
    if (this.stopping !== 'no') return;
    this.stopping = 'stop';
    for (const trial of this.active.values()) trial.child.kill('SIGINT');
  }

  /** Ends the running trials at once; they go back to pending. */
  kill(): void {
    this.stopping = 'kill';
    for (const trial of this.active.values()) trial.child.kill('SIGKILL');
  }

  async run(): Promise<SweepResult> {
    const startTime = Date.now();
    makeFolders(path.join(this.sweepDir, trialFolder('')));
    const invocation = {
      command: this.options.command ?? process.argv,
      pid: process.pid,
      jobs: this.options.jobs,
      startTime: new Date(startTime).toISOString(),
      endTime: null as string | null,
    };
    this.manifest.invocations.push(invocation);
    this.save();

    this.options.emit({ type: 'sweep-start', experiment: this.manifest.experiment, sweepDir: this.sweepDir, trials: this.total, metric: HEADLINE_METRIC });
    for (const record of this.prepared.blocked) this.reportBlocked(record);
    await this.runQueue();

    invocation.endTime = new Date().toISOString();
    this.save();
    const summaryFiles = await writeSummary(this.sweepDir, buildSummary(this.sweepDir, this.manifest));
    const counts = countStates(this.manifest.trials);
    this.emitEnd(startTime);
    let status: SweepResult['status'] = 'complete';
    if (this.stopping !== 'no' && !this.failedNow) status = 'interrupted';
    else if (counts.failed + counts.diverged + counts.pending + counts.running > 0) status = 'failed';
    return { sweepDir: this.sweepDir, status, counts, summaryFiles };
  }

  private runQueue(): Promise<void> {
    return new Promise((resolve) => {
      const pump = () => {
        while (this.stopping === 'no' && this.active.size < this.options.jobs && this.queue.length > 0) {
          this.startTrial(this.queue.shift()!, pump);
        }
        if (this.active.size === 0 && (this.stopping !== 'no' || this.queue.length === 0)) resolve();
      };
      pump();
    });
  }

  private startTrial(record: TrialRecord, onEnd: () => void): void {
    const planned = this.plan.trials[record.slot];
    const folder = path.join(this.sweepDir, trialFolder(record.id));
    const configFile = path.join(folder, TRIAL_FILES.config.name);
    const logFile = path.join(this.sweepDir, record.log);
    const number = ++this.started;

    makeFolders(folder);
    const config = { ...planned.config!, output: { ...planned.config!.output, root: folder } };
    const header = [
      `Trial ${record.id} of the sweep in ${this.sweepDir}: ${record.label}.`,
      `Written by tandem from ${this.plan.configFile}. \`tandem run <this file>\` runs the trial alone.`,
    ].join('\n');
    writeFileAtomic(configFile, renderConfig(config, { header, configDir: this.plan.configDir }));

    record.status = 'running';
    record.reason = null;
    record.attempts += 1;
    record.runDir = null;
    record.startTime = new Date().toISOString();
    record.endTime = null;
    record.seconds = null;
    this.save();
    this.options.emit({ type: 'trial-start', trial: number, trials: this.total, label: record.label });

    let logFd: number;
    try {
      appendFileSync(logFile, `${record.attempts > 1 ? '\n' : ''}== attempt ${record.attempts} at ${record.startTime}: ${record.label} ==\n`);
      logFd = openSync(logFile, 'a');
    } catch (error) {
      throw fileSystemError(logFile, error);
    }
    let child: ChildProcess;
    try {
      child = this.options.launch(configFile, logFd);
    } finally {
      closeSync(logFd);
    }

    const trial: ActiveTrial = { record, number, child, outcome: null, started: performance.now() };
    this.active.set(record.slot, trial);
    child.on('message', (message: unknown) => {
      if (!isTrialMessage(message)) return;
      if (message.type === 'run-folder') {
        record.runDir = path.relative(this.sweepDir, message.runDir);
        this.save();
      } else {
        trial.outcome = { outcome: message.outcome, reason: message.reason };
      }
    });
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      if (ended) return;
      ended = true;
      this.active.delete(record.slot);
      this.finishTrial(trial, code, signal, error, logFile);
      onEnd();
    };
    child.on('error', (error) => end(null, null, error));
    child.on('close', (code, signal) => end(code, signal));
  }

  private finishTrial(trial: ActiveTrial, code: number | null, signal: NodeJS.Signals | null, error: Error | undefined, logFile: string): void {
    const { record } = trial;
    let outcome: TrialOutcome;
    let reason: string | null;
    if (error !== undefined) {
      outcome = 'failed';
      reason = `the trial process could not start: ${error.message}`;
    } else if (trial.outcome !== null) {
      ({ outcome, reason } = trial.outcome);
    } else {
      outcome = outcomeOfExit(code, signal);
      reason = outcome === 'done' ? null : `the trial process exited ${signal === null ? `with code ${code}` : `on signal ${signal}`} without a result; ${lastLines(logFile)}`;
    }
    if (outcome === 'done' && record.runDir === null) {
      // The run-folder message can be lost with the IPC channel; the trial folder still has the run.
      record.runDir = finishedRuns(this.sweepDir, trialFolder(record.id)).at(-1) ?? null;
    }
    if (outcome === 'done' && (record.runDir === null || !isFinishedRun(path.join(this.sweepDir, record.runDir)))) {
      outcome = 'failed';
      reason = `the trial process reported success, but its run folder ${record.runDir ?? '(none)'} is unfinished`;
    }

    record.endTime = new Date().toISOString();
    record.seconds = (performance.now() - trial.started) / 1000;
    if (outcome === 'interrupted') {
      record.status = 'pending';
      record.reason = `interrupted: ${reason ?? 'stopped before it finished'}`;
    } else {
      record.status = outcome;
      record.reason = reason;
    }
    this.save();

    const metric = outcome === 'done' ? readHeadlineMetric(path.join(this.sweepDir, record.runDir!)) : null;
    this.results.push({ number: trial.number, status: outcome === 'interrupted' ? 'interrupted' : record.status, metric });
    this.options.emit({
      type: 'trial-end',
      trial: trial.number,
      trials: this.total,
      label: record.label,
      status: EVENT_STATUS[outcome],
      runDir: record.runDir === null ? null : path.join(this.sweepDir, record.runDir),
      metricValue: metric,
      ...(outcome === 'failed' || outcome === 'diverged' ? { error: `${outcome === 'diverged' ? 'diverged: ' : ''}${reason ?? 'no reason recorded'}; log ${logFile}` } : {}),
      seconds: record.seconds,
    });

    if ((outcome === 'failed' || outcome === 'diverged') && this.options.failFast && this.stopping === 'no') {
      this.failedNow = true;
      this.stop();
    }
  }

  /** Shows a trial that cannot run on this machine as a failed trial, without starting a process. */
  private reportBlocked(record: TrialRecord): void {
    const number = ++this.started;
    this.options.emit({ type: 'trial-start', trial: number, trials: this.total, label: record.label });
    this.results.push({ number, status: 'failed', metric: null });
    this.options.emit({
      type: 'trial-end',
      trial: number,
      trials: this.total,
      label: record.label,
      status: 'failed',
      runDir: null,
      metricValue: null,
      error: `cannot run: ${record.reason ?? 'no reason recorded'}`,
      seconds: 0,
    });
    if (this.options.failFast && this.stopping === 'no') {
      this.failedNow = true;
      this.stopping = 'stop';
    }
  }

  private emitEnd(startTime: number): void {
    const count = (status: TrialState | 'interrupted') => this.results.filter((result) => result.status === status).length;
    let best: { number: number; metric: number } | null = null;
    for (const result of this.results) {
      if (result.metric !== null && (best === null || result.metric > best.metric)) best = { number: result.number, metric: result.metric };
    }
    this.options.emit({
      type: 'sweep-end',
      sweepDir: this.sweepDir,
      trials: this.total,
      complete: count('done'),
      failed: count('failed') + count('diverged'),
      interrupted: count('interrupted'),
      bestTrial: best?.number ?? null,
      seconds: (Date.now() - startTime) / 1000,
    });
  }

  private save(): void {
    writeManifest(this.sweepDir, this.manifest);
  }
}

/** Returns the outcome that a trial process's exit status means, for a process that sent none. */
function outcomeOfExit(code: number | null, signal: NodeJS.Signals | null): TrialOutcome {
  if (signal !== null) return signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGKILL' ? 'interrupted' : 'failed';
  switch (code) {
    case TRIAL_EXIT_CODES.done:
      return 'done';
    case TRIAL_EXIT_CODES.diverged:
      return 'diverged';
    case TRIAL_EXIT_CODES.interrupted:
      return 'interrupted';
    default:
      return 'failed';
  }
}

export function countStates(trials: readonly TrialRecord[]): Record<TrialState, number> {
  const counts: Record<TrialState, number> = { pending: 0, running: 0, done: 0, failed: 0, diverged: 0 };
  for (const trial of trials) counts[trial.status] += 1;
  return counts;
}

function readHeadlineMetric(runDir: string): number | null {
  try {
    const metrics = JSON.parse(readFileSync(path.join(runDir, RUN_FILES.metrics.name), 'utf8'));
    return typeof metrics.test?.accuracyWithoutText === 'number' ? metrics.test.accuracyWithoutText : null;
  } catch {
    return null;
  }
}

/** Returns the last non-empty lines of a log, which explain why a process ended without a result. */
function lastLines(logFile: string, count = 3): string {
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 4096);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '');
      return `its log ends with: ${lines.slice(-count).join(' / ')}`;
    } finally {
      closeSync(fd);
    }
  } catch {
    return `its log ${logFile} is unreadable`;
  }
}
