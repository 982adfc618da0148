/**
 * `tandem schema`: print the JSON Schema of a config file, as committed in configs/experiment.schema.json.
 */
import { parseArgs } from 'node:util';
import { renderJsonSchema } from '../../src/config/reference.ts';
import { EXIT, UsageError, type Command } from '../command.ts';

export const schemaCommand: Command = {
  name: 'schema',
  usage: 'schema',
  summary: 'Print the JSON Schema of a config file (draft-07), for editors and other tools.',
  async run(args) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length > 0) throw new UsageError('tandem schema takes no arguments.');
    process.stdout.write(renderJsonSchema());
    return EXIT.ok;
  },
};
