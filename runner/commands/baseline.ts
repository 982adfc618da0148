/**
 * `tandem baseline <run or sweep folder>`: write a baseline file for `tandem check` from a finished run,
 * or from every trial of a finished sweep.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileSystemError, makeFolders, writeFileAtomic } from '../../src/artifacts/files.ts';
import { ANY_METRIC, createBaseline, createSweepBaseline, formatBaseline } from '../../src/reproduce/baseline.ts';
import { findUnknownMetric } from '../../src/reproduce/compare.ts';
import { isSweepFolder, readFinishedRun, readFinishedSweep } from '../../src/reproduce/metrics.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { parseToleranceOptions } from './check.ts';

export const baselineCommand: Command = {
  name: 'baseline',
  usage: 'baseline <run or sweep folder> [options]',
  summary:
    'Write a baseline file for `tandem check` from a finished run, or from every trial of a finished sweep: the metrics, their provenance and a tolerance per metric.',
  options: [
    '  --output <file>                   Write the baseline to this file, replacing it atomically; without it,',
    '                                    print it on stdout.',
    '  --atol <metric>=<value>           Store this absolute tolerance for a metric, or for every metric with *,',
    '                                    instead of the default. Repeatable.',
    '  --rtol <metric>=<value>           Store this relative tolerance instead of the default. Repeatable.',
  ].join('\n'),
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        atol: { type: 'string', multiple: true },
        rtol: { type: 'string', multiple: true },
      },
    });
    if (positionals.length !== 1) throw new UsageError('tandem baseline takes exactly one run or sweep folder.');
    const overrides = {
      absolute: parseToleranceOptions(values.atol, '--atol'),
      relative: parseToleranceOptions(values.rtol, '--rtol'),
    };
    const folder = positionals[0];
    const baseline = isSweepFolder(folder) ? createSweepBaseline(readFinishedSweep(folder)) : createBaseline(readFinishedRun(folder));
    const unknown = findUnknownMetric(baseline, overrides);
    if (unknown) throw new UsageError(unknown);
    for (const [bound, settings] of [['absolute', overrides.absolute], ['relative', overrides.relative]] as const) {
      for (const [name, value] of Object.entries(settings)) {
        const metrics = name === ANY_METRIC ? Object.keys(baseline.tolerances) : [name];
        for (const metric of metrics) baseline.tolerances[metric] = { ...baseline.tolerances[metric], [bound]: value };
      }
    }

    const text = formatBaseline(baseline);
    if (values.output === undefined) {
      process.stdout.write(text);
    } else {
      const file = path.resolve(values.output);
      try {
        makeFolders(path.dirname(file));
      } catch (error) {
        throw fileSystemError(path.dirname(file), error);
      }
      writeFileAtomic(file, text);
      process.stderr.write(`Wrote the baseline of ${path.resolve(positionals[0])} to ${file}.\n`);
    }
    return EXIT.ok;
  },
};
