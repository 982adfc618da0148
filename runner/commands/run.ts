/**
 * `tandem run <config>`: train and test one experiment.
 */
import { formatWarnings, loadConfig } from '../../src/config/load.ts';
import { renderDryRun } from '../../src/config/render.ts';
import { prepareResume } from '../../src/reproduce/resume.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { chooseUi, createReporter, runInterruptible } from '../reporters/index.ts';
import { runSweepCommand, SWEEP_RUN_HELP, SWEEP_RUN_OPTIONS } from './run-sweep.ts';
import { parseArgs } from 'node:util';

export const runCommand: Command = {
  name: 'run',
  usage: 'run <config.yaml> [options]',
  summary: 'Train and test the experiment the config declares, writing a new run folder under <output.root>/<name>/<run id>/.',
  options: [
    '  --set path=value                  Override one config value after the file and its bases are merged,',
    '                                    such as --set train.epochs=2. The value is YAML. Repeatable.',
    '  --dry-run                         Print the resolved config, every default included, and what would',
    '                                    run; read no data, train nothing and write no file.',
    '  --ui ink|plain|json               How to show progress: ink, a live screen (the default when stdout is a',
    '                                    terminal and CI is not set); plain, one line per epoch (the default',
    '                                    otherwise); json, one JSON object per event on stdout.',
    '  --resume <run folder>             Continue a stopped run in its folder from its newest checkpoint, with',
    '                                    the config saved there; give no config file. On the same backend the',
    '                                    final metrics equal those of an uninterrupted run.',
    ...SWEEP_RUN_HELP,
  ].join('\n'),
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ui: { type: 'string' },
        set: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        resume: { type: 'string' },
        ...SWEEP_RUN_OPTIONS,
      },
    });
    if (values.resume !== undefined && (positionals.length > 0 || values.set || values['dry-run'])) {
      throw new UsageError('tandem run --resume takes no config file, --set or --dry-run, because the run goes on with the config saved in its folder.');
    }
    if (values.resume === undefined && positionals.length !== 1) throw new UsageError('tandem run takes exactly one config file.');
    const resume = values.resume === undefined ? undefined : prepareResume(values.resume);
    const loaded = resume ? resume.loaded : loadConfig(positionals[0], { overrides: values.set ?? [] });
    if (resume) {
      const from = resume.checkpoint ? `after epoch ${resume.checkpoint.state.epoch}` : 'at epoch 1';
      process.stderr.write(`Resuming ${resume.runDir} ${from} of ${loaded.config.train.epochs}.\n`);
    }
    const warnings = formatWarnings(loaded);
    if (warnings) process.stderr.write(`${warnings}\n`);
    const sweepOptions = ['jobs', 'retry-failed', 'restart', 'fail-fast'] as const;
    if (loaded.config.sweep !== undefined && !resume) {
      return runSweepCommand({
        loaded,
        overrides: values.set ?? [],
        dryRun: values['dry-run'] ?? false,
        jobs: values.jobs,
        retryFailed: values['retry-failed'] ?? false,
        restart: values.restart ?? false,
        failFast: values['fail-fast'] ?? false,
        ui: values.ui,
        args,
      });
    }
    const sweepOnly = sweepOptions.find((option) => values[option] !== undefined);
    if (sweepOnly !== undefined) throw new UsageError(`--${sweepOnly} applies to a config with a sweep section, and ${loaded.file} has none.`);
    if (values['dry-run']) {
      process.stdout.write(renderDryRun(loaded));
      return EXIT.ok;
    }

    const ui = chooseUi(values.ui, Boolean(process.stdout.isTTY), process.env);
    const reporter = await createReporter(ui, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    const summary = await runInterruptible(reporter, {
      config: loaded.config,
      configFile: loaded.file,
      command: ['tandem', 'run', ...args],
      resume,
    });
    if (summary.status === 'diverged' && summary.divergence) {
      const { epoch, step, reason } = summary.divergence;
      process.stderr.write(
        `Training diverged at epoch ${epoch}, step ${step}: ${reason}. No test metrics were written. ` +
          (epoch > 1 ? `${summary.runDir} keeps the checkpoint of epoch ${epoch - 1}. ` : '') +
          'Lower the learning rates and start a new run.\n',
      );
      return EXIT.diverged;
    }
    return summary.status === 'interrupted' ? EXIT.interrupted : EXIT.ok;
  },
};
