/**
 * `tandem validate <config>...`: check config files against the schema and the cross-field checks
 * without reading data or training.
 */
import { parseArgs } from 'node:util';
import { checkConfig } from '../../src/config/load.ts';
import { displayPath, formatProblems } from '../../src/config/problems.ts';
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
      const checked = checkConfig(file, { overrides: values.set ?? [] });
      if (checked.config === undefined) valid = false;
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
