/**
 * `tandem run <config>`: train and test one experiment.
 */
import { formatWarnings, loadConfig } from '../../src/config/load.ts';
import { runExperiment } from '../../src/experiment.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { plainReporter } from '../plain-reporter.ts';
import { parseArgs } from 'node:util';

export const runCommand: Command = {
  name: 'run',
  usage: 'run <config.yaml>',
  summary: 'Train and test the experiment the config declares, writing a new run folder under <output.root>/<name>/<run id>/.',
  async run(args) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError('tandem run takes exactly one config file.');
    const loaded = loadConfig(positionals[0]);
    const warnings = formatWarnings(loaded);
    if (warnings) process.stderr.write(`${warnings}\n`);

    const controller = new AbortController();
    let interrupts = 0;
    const onInterrupt = () => {
      interrupts++;
      if (interrupts > 1) process.exit(EXIT.interrupted);
      process.stderr.write('\nStopping after the current step (press Ctrl-C again to quit at once)...\n');
      controller.abort();
    };
    process.on('SIGINT', onInterrupt);
    try {
      const summary = await runExperiment({
        config: loaded.config,
        configFile: loaded.file,
        emit: plainReporter((line) => process.stdout.write(`${line}\n`)),
        signal: controller.signal,
        command: ['tandem', 'run', ...args],
      });
      if (summary.status === 'interrupted') {
        process.stderr.write(`Interrupted. The history so far is in ${summary.runDir}; no test metrics were written.\n`);
        return EXIT.interrupted;
      }
      return EXIT.ok;
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  },
};
