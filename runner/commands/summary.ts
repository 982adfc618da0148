/**
 * `tandem summary <sweep folder>`: rebuild a sweep's summary from its manifest and the trials' run folders.
 */
import { parseArgs } from 'node:util';
import { summarizeSweep, renderMarkdown, writeSummary } from '../../src/sweep/summary.ts';
import { EXIT, UsageError, type Command } from '../command.ts';

export const summaryCommand: Command = {
  name: 'summary',
  usage: 'summary <sweep folder>',
  summary: 'Rebuild the summary files of a sweep folder from its manifest and run folders, and print the table.',
  async run(args) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length !== 1) {
      throw new UsageError('tandem summary takes exactly one sweep folder, such as results/table1/sweep-<spec hash>.');
    }
    const summary = summarizeSweep(positionals[0]);
    const written = await writeSummary(positionals[0], summary);
    process.stdout.write(renderMarkdown(summary));
    process.stderr.write(`Wrote ${written.join(', ')}.\n`);
    return EXIT.ok;
  },
};
