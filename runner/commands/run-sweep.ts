/**
 * The sweep half of `tandem run`: for a config with a sweep section, plan the trials, resume the sweep
 * folder, run the pending trials in their own processes and write the summary.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../src/config/load.ts';
import { defaultJobs } from '../../src/sweep/jobs.ts';
import { countStates, SweepRunner, type TrialLauncher } from '../../src/sweep/execute.ts';
import { acquireSweepLock } from '../../src/sweep/lock.ts';
import { sweepPath } from '../../src/sweep/manifest.ts';
import { planSweep, type SweepPlan } from '../../src/sweep/plan.ts';
import { prepareSweep, SweepChangedError, type PreparedSweep } from '../../src/sweep/resume.ts';
import { EXIT, UsageError } from '../command.ts';
import { chooseUi, createReporter } from '../reporters/index.ts';

/** The options of `tandem run` that only a sweep takes, for parseArgs. */
export const SWEEP_RUN_OPTIONS = {
  jobs: { type: 'string' },
  'retry-failed': { type: 'boolean' },
  restart: { type: 'boolean' },
  'fail-fast': { type: 'boolean' },
} as const;

/** Help lines of those options. */
export const SWEEP_RUN_HELP = [
  '',
  '  A config with a sweep section runs every trial of the sweep (see docs/sweeps.md). --dry-run then lists',
  '  the trials, and reads the data to fingerprint it. These options apply to sweeps only:',
  '  --jobs N                          Run N trials at once, each in its own process. Default:',
  '                                    the cores divided by the threads of one trial (1 on wasm and cpu, every',
  '                                    core on tensorflow), at most the trials left to run.',
  '  --retry-failed                    Run failed and diverged trials again.',
  '  --restart                         Accept a config or data set that changed since the sweep started, and',
  '                                    start the changed sweep (in its own folder when the config changed).',
  '  --fail-fast                       Stop at the first failed trial.',
];

export interface SweepCommandOptions {
  loaded: LoadedConfig;
  overrides: string[];
  dryRun: boolean;
  jobs: string | undefined;
  retryFailed: boolean;
  restart: boolean;
  failFast: boolean;
  ui: string | undefined;
  /** The arguments of `tandem run`, recorded in the manifest. */
  args: string[];
  /** The command line recorded in the manifest; default `tandem run` and `args`. */
  command?: string[];
  /** The stream for progress, stdout by default. `tandem check` passes stderr, keeping stdout for its table. */
  progress?: NodeJS.WriteStream;
}

/** The trial process: runner/trial-worker.ts, with tsx loaded so that it runs as TypeScript. */
const WORKER_FILE = fileURLToPath(new URL('../trial-worker.ts', import.meta.url));

const launchTrial: TrialLauncher = (configFile, logFd) =>
  spawn(process.execPath, ['--import', import.meta.resolve('tsx'), WORKER_FILE, configFile], {
    stdio: ['ignore', logFd, logFd, 'ipc'],
    env: process.env,
  });

/** Runs or lists the sweep of a loaded config; returns the exit code. */
export async function runSweepCommand(options: SweepCommandOptions): Promise<number> {
  const plan = await planSweep(options.loaded, { overrides: options.overrides });
  if (plan.warnings) process.stderr.write(`${plan.warnings}\n`);
  const resumeOptions = { restart: options.restart, retryFailed: options.retryFailed };
  const requestedJobs = parseJobs(options.jobs);
  if (options.dryRun) {
    let preview: PreparedSweep;
    try {
      preview = prepareSweep(plan, resumeOptions);
    } catch (error) {
      if (!(error instanceof SweepChangedError)) throw error;
      process.stderr.write(`Without --restart, tandem run would stop here:\n${error.message}\nThe list shows the sweep as --restart would run it.\n`);
      preview = prepareSweep(plan, { ...resumeOptions, restart: true });
    }
    const jobs = requestedJobs ?? defaultJobs(backendsOf(plan), preview.toRun.length);
    process.stdout.write(renderSweepDryRun(plan, preview, jobs, requestedJobs === undefined));
    return EXIT.ok;
  }
  // prepareSweep rejects a changed spec here, before the sweep folder is created or locked.
  prepareSweep(plan, resumeOptions);

  const lock = acquireSweepLock(plan.sweepDir);
  try {
    // Read the manifest again under the lock, in case another process changed it in between.
    const prepared = prepareSweep(plan, resumeOptions);
    for (const note of prepared.notes) process.stderr.write(`${note}\n`);
    const jobs = requestedJobs ?? defaultJobs(backendsOf(plan), prepared.toRun.length);
    return await runPrepared(plan, prepared, jobs, options);
  } finally {
    lock.release();
  }
}

async function runPrepared(plan: SweepPlan, prepared: PreparedSweep, jobs: number, options: SweepCommandOptions): Promise<number> {
  const progress = options.progress ?? process.stdout;
  const ui = chooseUi(options.ui, Boolean(progress.isTTY), process.env);
  const reporter = await createReporter(ui, { stdout: progress, stderr: process.stderr, env: process.env });
  const runner = new SweepRunner(plan, prepared, {
    emit: (event) => reporter.emit(event),
    launch: launchTrial,
    jobs,
    failFast: options.failFast,
    command: options.command ?? ['tandem', 'run', ...options.args],
  });
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      reporter.emit({ type: 'stop-requested' });
      runner.stop();
    } else {
      runner.kill();
    }
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await runner.run();
    reporter.close();
    process.stderr.write(`${closingMessage(plan, result.counts, result.status)}\n`);
    if (result.status === 'interrupted') return EXIT.interrupted;
    return result.status === 'complete' ? EXIT.ok : EXIT.failed;
  } finally {
    process.off('SIGINT', onInterrupt);
    reporter.close();
  }
}

function parseJobs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`Invalid value "${text}" for --jobs. Expected a whole number of at least 1.`);
  return jobs;
}

function backendsOf(plan: SweepPlan) {
  return plan.trials.flatMap((trial) => (trial.config === null ? [] : [trial.config.backend]));
}

/** Formats the last lines of the output: where the summary is, which trials are left, and how to go on. */
function closingMessage(plan: SweepPlan, counts: ReturnType<typeof countStates>, status: 'complete' | 'failed' | 'interrupted'): string {
  const total = plan.trials.length;
  const lines = [`Summary: ${sweepPath(plan.sweepDir, 'summaryMarkdown')} (${counts.done} of ${total} trials done).`];
  const failed = counts.failed + counts.diverged;
  if (failed > 0) {
    lines.push(
      `${failed} trial${failed === 1 ? '' : 's'} failed or diverged; the reasons are in the summary and ${sweepPath(plan.sweepDir, 'manifest')}. ` +
        'After fixing the cause, run the same command with --retry-failed to run them again.',
    );
  }
  const left = counts.pending + counts.running;
  if (left > 0 || status === 'interrupted') {
    lines.push(`${left} trial${left === 1 ? ' is' : 's are'} left to run; run the same command again to resume the sweep.`);
  }
  return lines.join('\n');
}

/** Lists the trials of a sweep and what `tandem run` would do with each. */
export function renderSweepDryRun(plan: SweepPlan, prepared: PreparedSweep, jobs: number, defaultJobs: boolean): string {
  const counts = countStates(prepared.manifest.trials);
  const trialsPerPoint = plan.base.sweep?.trials ?? 1;
  const lines = [
    'tandem run --dry-run: nothing was trained and no file was written.',
    `Sweep ${plan.base.name}: ${plan.points.length} point${plan.points.length === 1 ? '' : 's'} x ${trialsPerPoint} trial${trialsPerPoint === 1 ? '' : 's'} = ${plan.trials.length} trials, seed ${plan.base.seed} + trial index.`,
    `Folder: ${plan.sweepDir} (${prepared.resumed ? 'exists; the sweep resumes' : 'new'}).`,
    `Would run ${prepared.toRun.length} trial${prepared.toRun.length === 1 ? '' : 's'}, ${jobs} at once${defaultJobs ? ' (the default for this machine)' : ''}; ` +
      `${counts.done} done, ${counts.failed + counts.diverged} failed or diverged and kept${prepared.blocked.length > 0 ? ` (${prepared.blocked.length} cannot run here)` : ''}.`,
    ...prepared.notes,
    '',
  ];
  const rows = prepared.manifest.trials.map((record) => {
    let action = 'keep';
    if (record.status === 'pending') action = 'run';
    else if (plan.trials[record.slot].blocked !== null) action = 'cannot run';
    return [String(record.slot + 1), record.id, record.status, action, record.label];
  });
  const header = ['#', 'trial id', 'status', 'action', 'point and seed'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  '));
  const reasons = new Map<string, string>();
  for (const record of prepared.blocked) reasons.set(plan.points[record.point].label, record.reason ?? 'no reason recorded');
  if (reasons.size > 0) {
    lines.push('', 'Points whose trials cannot run on this machine:', ...[...reasons].map(([label, reason]) => `  ${label}: ${reason}`));
  }
  return `${lines.join('\n')}\n`;
}
