/**
 * `tandem check <config> --baseline <file>`: run the experiment again and compare its metrics with a
 * baseline file, each within its tolerance. Exits 1 when a metric is outside, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { formatWarnings, loadConfig } from '../../src/config/load.ts';
import { readBaseline, SINGLE_RUN_KEY, type Baseline } from '../../src/reproduce/baseline.ts';
import { compareWithBaseline, findUnknownMetric, formatComparisonTable, type ToleranceOverrides } from '../../src/reproduce/compare.ts';
import { readFinishedRun, type FinishedRun } from '../../src/reproduce/metrics.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { createReporter, runInterruptible } from '../reporters/index.ts';

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
    '  --run <run folder>                Compare this finished run instead of running the config again.',
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
      },
    });
    if (values.baseline === undefined) throw new UsageError('tandem check needs --baseline <file>.');
    if (values.run === undefined && positionals.length !== 1) {
      throw new UsageError('tandem check takes exactly one config file, or --run <run folder> and no config file.');
    }
    if (values.run !== undefined && positionals.length > 0) {
      throw new UsageError('tandem check takes a config file or --run <run folder>, not both.');
    }
    const overrides: ToleranceOverrides = {
      absolute: parseToleranceOptions(values.atol, '--atol'),
      relative: parseToleranceOptions(values.rtol, '--rtol'),
    };
    const baseline = readBaseline(values.baseline);
    const unknown = findUnknownMetric(baseline, overrides);
    if (unknown) throw new UsageError(unknown);
    const runKeys = Object.keys(baseline.runs);
    if (runKeys.length !== 1 || runKeys[0] !== SINGLE_RUN_KEY) {
      throw new UsageError(
        `Baseline ${values.baseline} contains the runs ${runKeys.join(', ')}, but checking a sweep is not supported yet, only a single run ("${SINGLE_RUN_KEY}").`,
      );
    }

    let finished: FinishedRun;
    if (values.run !== undefined) {
      finished = readFinishedRun(values.run);
    } else {
      const outcome = await runAgain(positionals[0], args);
      if (typeof outcome === 'number') return outcome;
      finished = outcome;
    }

    for (const note of describeProvenanceDifferences(baseline, finished)) process.stderr.write(`note: ${note}\n`);
    const rows = compareWithBaseline(baseline, { [SINGLE_RUN_KEY]: finished.metrics }, overrides);
    const failed = rows.filter((row) => !row.passed).length;
    process.stdout.write(`Run ${finished.runDir}\ncompared with baseline ${values.baseline}:\n\n`);
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
 * Run the config as `tandem run` does, with progress lines on stderr so that stdout keeps the table.
 * Returns the finished run, or the exit code when the run did not complete.
 */
async function runAgain(configFile: string, args: string[]): Promise<FinishedRun | number> {
  const loaded = loadConfig(configFile);
  if (loaded.config.sweep !== undefined) {
    // TODO: run the sweep and compare each trial with its own entry in the baseline's runs.
    throw new UsageError(`${loaded.file} declares a sweep, and tandem check supports single runs only so far.`);
  }
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
  return readFinishedRun(summary.runDir);
}

/** Differences between the run and the baseline's source that explain a failed comparison. */
function describeProvenanceDifferences(baseline: Baseline, run: FinishedRun): string[] {
  const notes: string[] = [];
  const source = baseline.source;
  const record = run.record;
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
