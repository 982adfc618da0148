/**
 * `tandem validate <config>...`: check config files against the schema and the cross-field checks
 * without reading data or training.
 */
import { parseArgs } from 'node:util';
import { checkConfig, loadConfig } from '../../src/config/load.ts';
import { ConfigError, displayPath, formatProblems } from '../../src/config/problems.ts';
import { planSweep } from '../../src/sweep/plan.ts';
import { EXIT, UsageError, type Command } from '../command.ts';

export const validateCommand: Command = {
  name: 'validate',
  usage: 'validate <config>... [options]',
  summary: 'Check configs, their bases and overrides without training: print every problem with its place; exit 0 when all are valid, else 2.',
  options: [
    '  --set path=value                  Override one config value in every file, as tandem run does. The',
    '                                    value is YAML. Repeatable.',
  ].join('\n'),
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true } },
    });
    if (positionals.length === 0) throw new UsageError('tandem validate takes one or more config files.');

    const reports: string[] = [];
    let valid = true;
    for (const file of positionals) {
      const overrides = values.set ?? [];
      const checked = checkConfig(file, { overrides });
      if (checked.config === undefined) valid = false;
      if (checked.config?.sweep !== undefined) {
        const sweepReport = await validateSweep(file, overrides);
        if (sweepReport !== null) {
          valid = false;
          reports.push(sweepReport);
          continue;
        }
      }
      reports.push(
        checked.problems.length === 0
          ? `${displayPath(checked.file)}: valid`
          : formatProblems(checked.problems, checked.sources, { note: checked.note }),
      );
    }
    process.stdout.write(`${reports.join('\n\n')}\n`);
    return valid ? EXIT.ok : EXIT.usage;
  },
};

/**
 * Plans the sweep of a valid config as `tandem run` would, which checks every point's config, and returns
 * the formatted problems, or null when the sweep is valid. The data is not read: every trial gets the
 * same stand-in fingerprint, which only trial ids depend on.
 */
async function validateSweep(file: string, overrides: string[]): Promise<string | null> {
  try {
    await planSweep(loadConfig(file, { overrides }), { overrides, fingerprint: async () => 'not read by tandem validate' });
    return null;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message;
  }
}
