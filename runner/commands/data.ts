/**
 * `tandem data check <config | manifest>`: list every problem of a data set with its line, then
 * summarise the data set, without training.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import { formatWarnings, loadConfig } from '../../src/config/load.ts';
import { ExperimentSchema, type ExperimentConfig } from '../../src/config/schema.ts';
import {
  checkData,
  formatDataProblem,
  MANIFEST_FORMATS,
  shownPath,
  SPLIT_NAMES,
  type DataCheckResult,
  type DataSummary,
} from '../../src/data/index.ts';
import { DataError } from '../../src/errors.ts';
import { EXIT, UsageError, type Command } from '../command.ts';

const CONFIG_EXTENSIONS = ['.yaml', '.yml'];

export const dataCommand: Command = {
  name: 'data',
  usage: 'data check <config | manifest>',
  summary:
    'Check a data set without training: list every problem with its line, then summarise the data set. ' +
    'Exit 0 when it has no errors, else 1.',
  options: [
    '  <config.yaml>                     Check the data set the config names, with its data settings and seed.',
    '  <manifest>                        Check a manifest (.jsonl, .csv or .tsv) with the default data settings.',
    '  --set path=value                  With a config: override one config value, as tandem run does.',
    '                                    The value is YAML. Repeatable.',
  ].join('\n'),
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { set: { type: 'string', multiple: true } },
    });
    const [action, file, ...extra] = positionals;
    if (action !== 'check') {
      if (action === undefined) throw new UsageError('tandem data needs a subcommand: check.');
      throw new UsageError(`Unknown subcommand "data ${action}"; the only one is "data check".`);
    }
    if (file === undefined || extra.length > 0) throw new UsageError('tandem data check takes exactly one config or manifest file.');

    const extension = path.extname(file).toLowerCase();
    let config: ExperimentConfig;
    let configDir: string;
    if (CONFIG_EXTENSIONS.includes(extension)) {
      const loaded = loadConfig(file, { overrides: values.set ?? [] });
      const warnings = formatWarnings(loaded);
      if (warnings) process.stderr.write(`${warnings}\n`);
      config = loaded.config;
      configDir = loaded.dir;
    } else if (extension in MANIFEST_FORMATS) {
      if (values.set !== undefined) throw new UsageError('--set needs a config file; write a config that names the manifest in data.manifest.');
      const manifest = path.resolve(file);
      if (!existsSync(manifest)) throw new DataError(`Manifest file ${manifest} was not found. Check the path.`);
      config = defaultManifestConfig(manifest);
      configDir = process.cwd();
    } else {
      throw new UsageError(
        `"${file}" is neither a config (.yaml, .yml) nor a manifest (${Object.keys(MANIFEST_FORMATS).join(', ')}).`,
      );
    }

    const showProgress = Boolean(process.stderr.isTTY);
    const result = await checkData(config, configDir, {
      onProgress: showProgress ? (done, total) => process.stderr.write(`\rdecoding images ${done}/${total}`) : undefined,
    });
    if (showProgress) process.stderr.write('\r\u001b[K');
    process.stdout.write(`${formatCheckReport(result, config).join('\n')}\n`);
    return result.problems.some((problem) => problem.severity === 'error') ? EXIT.failed : EXIT.ok;
  },
};

/** Build the config that checks a manifest alone: every schema default, with data.source manifest. */
function defaultManifestConfig(manifest: string): ExperimentConfig {
  const config = { name: 'data-check', data: { source: 'manifest', manifest } };
  const validate = new Ajv({ useDefaults: true, strict: false }).compile(ExperimentSchema);
  if (!validate(config)) throw new Error(`The default config is invalid: ${JSON.stringify(validate.errors)}`);
  return config as unknown as ExperimentConfig;
}

/** Format the lines that `tandem data check` prints: every problem, a count, then the summary. */
export function formatCheckReport(result: DataCheckResult, config: ExperimentConfig): string[] {
  const { problems, summary } = result;
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  const where = `${plural(summary.rows, summary.kind === 'manifest' ? 'row' : 'image')} of ${shownPath(summary.file)}`;
  const counts =
    problems.length === 0
      ? `No problems in ${where}.`
      : `${plural(errors, 'error')} and ${plural(warnings, 'warning')} in ${where}.`;
  return [...problems.map(formatDataProblem), ...(problems.length > 0 ? [''] : []), counts, '', ...formatSummary(summary, config)];
}

/** Format the summary as aligned lines under the heading "Summary". */
export function formatSummary(summary: DataSummary, config: ExperimentConfig): string[] {
  const data = config.data;
  const lines = ['Summary'];
  const row = (name: string, text: string) => lines.push(`  ${name.padEnd(16)}${text}`);

  const leftOut = summary.kind === 'manifest' ? summary.rows - summary.images : 0;
  row('images', `${summary.images}${leftOut > 0 ? ` (${plural(leftOut, 'row')} left out for errors)` : ''}`);
  row('patients', `${summary.patients}`);

  const split = summary.split;
  const splitSource = split.source === 'manifest' ? 'from the manifest' : `seeded by patient (seed ${config.seed})`;
  const selected = split.selected < summary.images ? `; data.maxImages uses ${split.selected} of ${summary.images} images` : '';
  const perSet = SPLIT_NAMES.map((name) => `${name} ${split.images[name]} (${plural(split.patients[name], 'patient')})`).join(', ');
  row('split', `${splitSource}: ${perSet}${selected}`);

  const nameWidth = Math.max('label'.length, ...summary.labels.map((label) => label.name.length));
  const headings = ['images', ...SPLIT_NAMES];
  const tableRow = (name: string, cells: string[]) =>
    `${name.padEnd(nameWidth)}${cells.map((cell, index) => `  ${cell.padStart(headings[index].length)}`).join('')}`;
  row('labels', tableRow('label', headings));
  for (const label of summary.labels) {
    const counts = [label.images, ...SPLIT_NAMES.map((name) => label.bySplit[name])];
    // A row whose label is missing from data.labels is an error. The table still counts such rows, so
    // that it shows how many rows each misspelt or extra label holds.
    const unknown = data.labels !== null && !data.labels.includes(label.name) ? '  (not in data.labels)' : '';
    row('', `${tableRow(label.name, counts.map(String))}${unknown}`);
  }

  const perImage = summary.reports.perImage;
  const choice = perImage.max > 1 ? ' (training draws one per visit; evaluation uses the first)' : '';
  row('reports', `${summary.reports.total}; per image ${formatRange(perImage)}${choice}`);
  const longReports = summary.reportsOverMaxSentences;
  row(
    'sentences',
    `per report ${formatRange(summary.sentencesPerReport)}; ` +
      (longReports === 0
        ? `none over data.maxSentences (${data.maxSentences})`
        : `${plural(longReports, 'report')} over data.maxSentences (${data.maxSentences}) lose their later sentences`),
  );
  const longSentences = summary.sentencesOverMaxTokens;
  row(
    'words',
    `per sentence ${formatRange(summary.wordsPerSentence)}; ` +
      (longSentences === 0
        ? `none over data.maxSentenceTokens - 1 (${data.maxSentenceTokens - 1})`
        : `${plural(longSentences, 'sentence')} over data.maxSentenceTokens - 1 (${data.maxSentenceTokens - 1}) are cut`),
  );
  const types = summary.sentenceTypes.map(({ type, sentences }) => `${type === '' ? '(untyped)' : type} ${sentences}`).join(', ');
  row('sentence types', types === '' ? 'none' : types);

  const files = summary.imageFiles;
  if (files !== undefined) {
    row('image files', files.kinds.map(({ kind, images }) => `${kind} ${images}`).join(', '));
    const sizes = `width ${formatRange(files.width)}, height ${formatRange(files.height)} pixels`;
    row('image sizes', `${sizes}; resized to ${data.resizeTo} (${data.resizeMode})`);
  }
  return lines;
}

function formatRange(range: { min: number; median: number; max: number }): string {
  return range.min === range.max ? `${range.min}` : `${range.min} to ${range.max} (median ${range.median})`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
