/**
 * `tandem check <config> --baseline <file>`: run the experiment, or every trial of its sweep, again and
 * compare the metrics with a baseline file, each within its tolerance. Exits 1 when a metric is outside,
 * 2 on a usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RunFolder } from '../../src/artifacts/files.ts';
import { formatWarnings, loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { isSweepBaseline, readBaseline, SINGLE_RUN_KEY, type Baseline } from '../../src/reproduce/baseline.ts';
import { compareWithBaseline, findUnknownMetric, formatComparisonTable, type ToleranceOverrides } from '../../src/reproduce/compare.ts';
import {
  isSweepFolder,
  readFinishedRun,
  readFinishedSweep,
  type FinishedRun,
  type FinishedSweep,
} from '../../src/reproduce/metrics.ts';
import { sweepsOfConfig } from '../../src/sweep/manifest.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { createReporter, runInterruptible } from '../reporters/index.ts';
import { runSweepCommand } from './run-sweep.ts';

/** The subject of a check: one finished run, or every trial of a finished sweep. */
type Checked = { kind: 'run'; run: FinishedRun } | { kind: 'sweep'; sweep: FinishedSweep };

/** Parse repeated `<metric>=<value>` options into values by metric name; `option` names the option in errors. */
export function parseToleranceOptions(entries: string[] | undefined, option: string): Record<string, number> {
  const tolerances: Record<string, number> = {};
  for (const entry of entries ?? []) {
    const match = /^([^=]+)=(.*)$/.exec(entry);
    const value = match ? Number(match[2]) : NaN;
    if (!match || match[2].trim() === '' || !(value >= 0) || !Number.isFinite(value)) {
      throw new UsageError(`Invalid ${option} "${entry}": expected <metric>=<number >= 0>, such as ${option} test.lossWithText=0.001.`);
    }
    tolerances[match[1].trim()] = value;
  }
  return tolerances;
}

export const checkCommand: Command = {
  name: 'check',
  usage: 'check <config.yaml> --baseline <file> [options]',
  summary:
    'Run the experiment again and compare each metric with a baseline file within its tolerance; print a table and exit 1 if any metric is outside.',
  options: [
    '  --baseline <file>                 Baseline file to compare with, written by `tandem baseline`. Required.',
    '  --atol <metric>=<value>           Allowed absolute difference of a metric, or of every metric with *;',
    "                                    replaces the baseline file's tolerance. Repeatable.",
    '  --rtol <metric>=<value>           Allowed difference relative to the baseline value, e.g. 0.001 for',
    '                                    0.1%. A metric passes when |now - baseline| <= max(atol, rtol *',
    '                                    |baseline|). Repeatable.',
    '  --set path=value                  Override one config value, as tandem run does, so that a baseline of',
    '                                    a run made with --set can be checked. The value is YAML. Repeatable.',
    '  --run <run or sweep folder>       Compare this finished run, or every trial of this finished sweep,',
    '                                    instead of running the config again.',
    '',
    '  A config with a sweep section runs every trial again in a new sweep folder under',
    '  <output.root>/<name>/checks/, and compares each trial with the baseline entry of the same label. The',
    '  baseline comes from `tandem baseline <sweep folder>`.',
    '  --jobs N                          Run N trials at once, as tandem run does.',
  ].join('\n'),
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        baseline: { type: 'string' },
        atol: { type: 'string', multiple: true },
        rtol: { type: 'string', multiple: true },
        run: { type: 'string' },
        jobs: { type: 'string' },
        set: { type: 'string', multiple: true },
      },
    });
    if (values.baseline === undefined) throw new UsageError('tandem check needs --baseline <file>.');
    if (values.run === undefined && positionals.length !== 1) {
      throw new UsageError('tandem check takes exactly one config file, or --run <run or sweep folder> and no config file.');
    }
    if (values.run !== undefined && positionals.length > 0) {
      throw new UsageError('tandem check takes a config file or --run <run or sweep folder>, not both.');
    }
    if (values.run !== undefined && values.jobs !== undefined) throw new UsageError('--jobs applies when tandem check runs a sweep, not with --run.');
    if (values.run !== undefined && values.set !== undefined) throw new UsageError('--set applies when tandem check runs a config, not with --run.');
    const configOverrides = values.set ?? [];
    const overrides: ToleranceOverrides = {
      absolute: parseToleranceOptions(values.atol, '--atol'),
      relative: parseToleranceOptions(values.rtol, '--rtol'),
    };
    const baseline = readBaseline(values.baseline);
    const unknown = findUnknownMetric(baseline, overrides);
    if (unknown) throw new UsageError(unknown);
    let checked: Checked;
    if (values.run !== undefined) {
      checked = isSweepFolder(values.run) ? { kind: 'sweep', sweep: readFinishedSweep(values.run) } : { kind: 'run', run: readFinishedRun(values.run) };
      requireMatchingKind(baseline, values.baseline, checked.kind, values.run);
    } else {
      const loaded = loadConfig(positionals[0], { overrides: configOverrides });
      const kind = loaded.config.sweep === undefined ? 'run' : 'sweep';
      if (values.jobs !== undefined && kind === 'run') throw new UsageError(`--jobs applies to a config with a sweep section, and ${loaded.file} has none.`);
      requireMatchingKind(baseline, values.baseline, kind, loaded.file);
      const outcome = kind === 'run' ? await runAgain(loaded, args) : await runSweepAgain(loaded, configOverrides, args, values.jobs);
      if (typeof outcome === 'number') return outcome;
      checked = outcome;
    }

    const runs = checked.kind === 'run' ? { [SINGLE_RUN_KEY]: checked.run } : checked.sweep.runs;
    const extra = Object.keys(runs).filter((key) => !(key in baseline.runs));
    if (extra.length > 0) process.stderr.write(`note: trials without a baseline entry, not compared: ${extra.join('; ')}.\n`);
    const absent = Object.keys(baseline.runs).filter((key) => !(key in runs));
    if (absent.length > 0) {
      process.stderr.write(
        `note: baseline trials that this ${checked.kind} did not run, so their rows fail with "-": ${absent.join('; ')}. ` +
          'Check the config that the baseline was made from, with the same --set options.\n',
      );
    }
    const first = Object.values(runs)[0];
    for (const note of describeProvenanceDifferences(baseline, first)) process.stderr.write(`note: ${note}\n`);
    const current = Object.fromEntries(Object.entries(runs).map(([key, run]) => [key, run.metrics]));
    const rows = compareWithBaseline(baseline, current, overrides);
    const failed = rows.filter((row) => !row.passed).length;
    const heading = checked.kind === 'run' ? `Run ${checked.run.runDir}` : `Sweep ${checked.sweep.sweepDir} (${Object.keys(runs).length} trials)`;
    process.stdout.write(`${heading}\ncompared with baseline ${values.baseline}:\n\n`);
    process.stdout.write(`${formatComparisonTable(rows)}\n\n`);
    if (failed > 0) {
      process.stdout.write(`check failed: ${failed} of ${rows.length} metrics outside their tolerance.\n`);
      return EXIT.failed;
    }
    process.stdout.write(`check passed: all ${rows.length} metrics within their tolerance.\n`);
    return EXIT.ok;
  },
};

/**
 * Throws a UsageError when the baseline contains a sweep and `target` is a single run, or the reverse,
 * because then no entry of the baseline could match.
 */
function requireMatchingKind(baseline: Baseline, baselineFile: string, kind: Checked['kind'], target: string): void {
  const sweepBaseline = isSweepBaseline(baseline);
  if (sweepBaseline === (kind === 'sweep')) return;
  const contents = sweepBaseline ? `the ${Object.keys(baseline.runs).length} trials of a sweep` : 'a single run';
  const targetKind = kind === 'sweep' ? 'a sweep' : 'a single run';
  throw new UsageError(
    `Baseline ${baselineFile} contains ${contents}, but ${target} is ${targetKind}. Check it against a baseline made with ` +
      `\`tandem baseline\` from ${kind === 'sweep' ? 'a finished sweep folder' : 'a finished run folder'} of the same config.`,
  );
}

/**
 * Run the config as `tandem run` does, with progress lines on stderr so that stdout keeps the table.
 * Returns the finished run, or the exit code when the run did not complete.
 */
async function runAgain(loaded: LoadedConfig, args: string[]): Promise<Checked | number> {
  const warnings = formatWarnings(loaded);
  if (warnings) process.stderr.write(`${warnings}\n`);
  const reporter = await createReporter('plain', { stdout: process.stderr, stderr: process.stderr, env: process.env });
  const summary = await runInterruptible(reporter, {
    config: loaded.config,
    configFile: loaded.file,
    command: ['tandem', 'check', ...args],
  });
  if (summary.status === 'interrupted') return EXIT.interrupted;
  if (summary.status === 'diverged') {
    const where = summary.divergence ? ` at epoch ${summary.divergence.epoch}, step ${summary.divergence.step}: ${summary.divergence.reason}` : '';
    process.stderr.write(`check failed: training diverged${where}, so there are no metrics to compare.\n`);
    return EXIT.failed;
  }
  return { kind: 'run', run: readFinishedRun(summary.runDir) };
}

/**
 * Run every trial of the config's sweep again, in a new sweep folder under
 * <output.root>/<name>/checks/<UTC time>/ so that no earlier trial is reused, with progress on stderr.
 * Returns the finished sweep, or the exit code when a trial failed or the sweep was interrupted.
 */
async function runSweepAgain(base: LoadedConfig, configOverrides: string[], args: string[], jobs: string | undefined): Promise<Checked | number> {
  const experimentDir = path.join(path.resolve(base.dir, base.config.output.root), base.config.name);
  const checkRoot = RunFolder.create(experimentDir, 'checks', new Date()).dir;
  // output.root is left out of the sweep's hash and of its trial ids, so the trials keep their labels.
  const overrides = [...configOverrides, `output.root=${JSON.stringify(checkRoot)}`];
  const loaded = loadConfig(base.file, { overrides });
  const code = await runSweepCommand({
    loaded,
    overrides,
    dryRun: false,
    jobs,
    retryFailed: false,
    restart: false,
    failFast: true,
    ui: 'plain',
    args,
    command: ['tandem', 'check', ...args],
    progress: process.stderr,
  });
  if (code === EXIT.interrupted) return code;
  if (code !== EXIT.ok) {
    process.stderr.write('check failed: a trial of the sweep did not finish, so not every metric can be compared.\n');
    return EXIT.failed;
  }
  const [sweep] = sweepsOfConfig(path.join(checkRoot, base.config.name), base.file);
  if (sweep === undefined) throw new Error(`The sweep that tandem check ran left no manifest under ${checkRoot}.`);
  return { kind: 'sweep', sweep: readFinishedSweep(sweep.sweepDir) };
}

/** Differences between the run and the baseline's source that explain a failed comparison. */
function describeProvenanceDifferences(baseline: Baseline, run: FinishedRun): string[] {
  const notes: string[] = [];
  const source = baseline.source;
  const record = run.record;
  if (record.experiment && baseline.experiment !== record.experiment) {
    notes.push(`the baseline is of experiment "${baseline.experiment}" and this run of "${record.experiment}"; check that the baseline file is the right one.`);
  }
  if (source.configSha256 && record.configSha256 && source.configSha256 !== record.configSha256) {
    notes.push('the config differs from the one the baseline was made with (configSha256), so its numbers may differ.');
  }
  const dataSha256 = record.data?.fingerprint?.sha256;
  if (source.dataSha256 && dataSha256 && source.dataSha256 !== dataSha256) {
    notes.push('the data set differs from the one the baseline was made with (data fingerprint).');
  }
  if (record.backend?.name && source.backend !== record.backend.name) {
    notes.push(`the baseline ran on backend ${source.backend} and this run on ${record.backend.name}.`);
  }
  return notes;
}
