/**
 * The `tandem` command line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RUN_FILES } from '../src/artifacts/files.ts';
import { formatWarnings, loadConfig } from '../src/config/load.ts';
import { TandemError } from '../src/errors.ts';
import { runExperiment } from '../src/experiment.ts';
import { plainReporter } from './plain-reporter.ts';

/** Exit codes, also listed in the help text. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const fileList = Object.values(RUN_FILES)
  .map((file) => `  ${file.name.padEnd(30)}${file.description}`)
  .join('\n');

const HELP = `Usage: tandem <command> [options]

Commands:
  run <config.yaml>     Train and test the experiment the config declares, writing a new run folder
                        under <output.root>/<name>/<run id>/.

Options:
  -h, --help            Show this help.
  -v, --version         Show the version.

Environment:
  TANDEM_DATA_ROOT      Data set folder; overrides data.root in the config.
  CI                    When set, output stays plain text.

Files of a run folder:
${fileList}

Exit codes:
  0    the run finished
  1    the run failed (missing data, unreadable image, file system error)
  2    invalid command line or config
  130  interrupted with Ctrl-C; the run folder keeps the history so far
`;

function version(): string {
  const manifest = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../package.json');
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

async function run(configArgument: string): Promise<number> {
  const loaded = loadConfig(configArgument);
  const print = (line: string) => process.stdout.write(`${line}\n`);
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
      emit: plainReporter(print),
      signal: controller.signal,
      command: ['tandem', ...process.argv.slice(2)],
    });
    if (summary.status === 'interrupted') {
      process.stderr.write(`Interrupted. The history so far is in ${summary.runDir}; no test metrics were written.\n`);
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nRun \`tandem --help\` for the usage.\n`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (parsed.values.version) {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (command !== 'run') {
    const what = command === undefined ? 'No command given.' : `Unknown command "${command}".`;
    process.stderr.write(`${what} Known commands: run.\nExample: tandem run configs/vqa-rad.yaml\n`);
    return EXIT.usage;
  }
  if (rest.length !== 1) {
    process.stderr.write('tandem run takes exactly one config file.\nExample: tandem run configs/vqa-rad.yaml\n');
    return EXIT.usage;
  }
  return run(rest[0]);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof TandemError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    // Anything else is a bug in tandem: keep the stack for the report.
    process.stderr.write(`Internal error (please report it with the command you ran):\n${(error as Error).stack ?? error}\n`);
    process.exitCode = EXIT.failed;
  }
}
