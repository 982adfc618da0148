/**
 * The data pipeline: reads the data set (the VQA-RAD release or a manifest), checks it, splits it by
 * patient, builds the vocabulary, decodes the images once, and makes batches. `loadData` is the entry
 * point of a run, and `checkData` of `tandem data check`.
 */
import type { ExperimentConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { checkEntries, checkSeededSplit, checkSplitSizes, classNames, decodeEntries, probeImages } from './check.ts';
import { decodeEntriesCached, imageCacheDir } from './image-cache.ts';
import { computeChannelMean } from './images.ts';
import { DataProblemsError, sortDataProblems, summariseWarnings, type DataProblem } from './problems.ts';
import type { ReportSentence } from './reports.ts';
import { readDataSource } from './sources.ts';
import { assignSplits } from './split.ts';
import { summariseData, type DataSummary } from './summary.ts';
import { buildVocabulary } from './text.ts';
import type { DataSource, DatasetEntry, PreparedData, Sample } from './types.ts';
import { compareStrings } from './vqa-rad.ts';

export { centreTransform, drawTransform, renderImage, type AugmentSettings, type ImageTransform } from './augment.ts';
export { iterateBatches, makeBatch, type Batch, type IterateBatchesOptions, type MakeBatchOptions } from './batch.ts';
export { checkEntries, checkSeededSplit, checkSplitSizes, classNames, decodeEntries, probeImages } from './check.ts';
export { parseCsv, type CsvParseResult, type CsvRecord } from './csv.ts';
export {
  computeChannelMean,
  decodeImage,
  decodeImages,
  decodeImageWithInfo,
  detectImageFormat,
  ImageFileError,
  SUPPORTED_IMAGE_FORMATS,
  type ImageInfo,
  type ResizeMode,
} from './images.ts';
export { MANIFEST_FORMATS, readManifest } from './manifest.ts';
export {
  DATA_PROBLEM_CODES,
  DataProblemsError,
  formatDataProblem,
  shownPath,
  sortDataProblems,
  type DataProblem,
  type DataProblemCode,
} from './problems.ts';
export { normaliseQuestionType, ORGAN_QUESTION_TYPE, QUESTION_TYPE_FIXES } from './question-types.ts';
export { buildReport, buildSentence, type ReportSentence } from './reports.ts';
export { DATA_ROOT_VARIABLE, resolveDataRoot } from './root.ts';
export { splitSentences } from './sentences.ts';
export { importVqaRad, readDataSource } from './sources.ts';
export { assignSplits, groupPatients, sampleBalanced, splitByPatient } from './split.ts';
export { countRange, summariseData, type CountRange, type DataSummary } from './summary.ts';
export { buildVocabulary, END_OF_SENTENCE_ID, PADDING_ID, SPECIAL_TOKENS, tokenize, UNKNOWN_ID, Vocabulary } from './text.ts';
export { SPLIT_NAMES, type DataSource, type DatasetEntry, type PreparedData, type Sample, type SplitName } from './types.ts';
export { METADATA_FILE_NAME, readVqaRad, type VqaRadImage } from './vqa-rad.ts';

/** The command that lists every data problem, named in the messages of `loadData`. */
const CHECK_COMMAND = 'tandem data check <config>';

/**
 * Load the data set for one run. Reads `config.data.source`: the VQA-RAD folder (TANDEM_DATA_ROOT when
 * set, else `data.root` relative to `configDir`, the config file's folder) or the manifest `data.manifest`
 * relative to `configDir`. Runs the checks of `tandem data check` on every entry, except that only the
 * images the run uses are decoded, and throws DataProblemsError listing the errors before anything is
 * trained. Then applies data.maxImages and the split (see `assignSplits`), builds the vocabulary from every
 * report of the training images, and decodes each used image once at data.resizeTo pixels. An image that
 * an earlier run decoded comes from the image cache instead (see image-cache.ts). `onProgress(done,
 * total)` is called after each image. Warnings are returned in `warnings`. Throws DataError when
 * the data set cannot be read at all.
 */
export async function loadData(
  config: ExperimentConfig,
  configDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<PreparedData> {
  const data = config.data;
  if (data.resizeTo < data.imageSize) {
    throw new DataError(
      `data.resizeTo (${data.resizeTo}) is smaller than data.imageSize (${data.imageSize}), so the crop ` +
        `would not fit in the resized image. Set data.resizeTo to at least ${data.imageSize}.`,
    );
  }

  const source = await readDataSource(data, configDir);
  const problems: DataProblem[] = [...source.problems, ...checkEntries(source, data)];
  problems.push(...(await probeImages(source)));
  throwOnErrors(problems, { beforeDecoding: true });

  const classes = classNames(source.entries, data.labels);
  const split = assignSplits(source.entries, source.hasSplits, data, config.seed);
  problems.push(...checkSeededSplit(source, split), ...checkSplitSizes(source, split));
  throwOnErrors(problems, { beforeDecoding: true });
  const used = [...split.train, ...split.validation, ...split.test];
  const decodeOptions = { size: data.resizeTo, mode: data.resizeMode, onProgress };
  const decoded = await decodeEntriesCached(source, used, decodeOptions, imageCacheDir());
  throwOnErrors(decoded.problems);

  const toSample = (entry: DatasetEntry): Sample => toSampleOf(entry, classes);
  const train = split.train.map(toSample);
  const validation = split.validation.map(toSample);
  const test = split.test.map(toSample);
  const samples = [...train, ...validation, ...test];

  const trainingSentences = train.flatMap((sample) =>
    reportsOf(sample).flatMap((report) => report.slice(0, data.maxSentences).map((sentence) => sentence.text)),
  );
  const vocabulary = buildVocabulary(trainingSentences, data.minWordCount, data.maxSentenceTokens);
  const mean = computeChannelMean(train.map((sample) => decoded.pixels.get(sample.id)!));
  const warnings = summariseWarnings(problems, CHECK_COMMAND);

  return {
    root: source.root,
    classes,
    train,
    validation,
    test,
    vocabulary,
    mean,
    patients: new Set(samples.map((sample) => sample.patientId)).size,
    images: samples.length,
    emptyReports: samples.filter((sample) => sample.sentences.length === 0).length,
    sentenceTypes: [
      ...new Set(samples.flatMap((sample) => reportsOf(sample).flatMap((report) => report.map((sentence) => sentence.type)))),
    ].sort(compareStrings),
    pixels: decoded.pixels,
    config: data,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** Throws DataProblemsError when `problems` has an error; see its `beforeDecoding` option. */
function throwOnErrors(problems: readonly DataProblem[], options: { beforeDecoding?: boolean } = {}): void {
  if (problems.some((problem) => problem.severity === 'error')) throw new DataProblemsError(problems, CHECK_COMMAND, options);
}

/** Build the sample of an entry. Its first report is the one evaluation uses. */
function toSampleOf(entry: DatasetEntry, classes: readonly string[]): Sample {
  const sample: Sample = {
    id: entry.id,
    imagePath: entry.imagePath,
    label: classes.indexOf(entry.labelName),
    labelName: entry.labelName,
    patientId: entry.patientId,
    sentences: entry.reports[0] ?? [],
  };
  if (entry.reports.length > 1) sample.reports = entry.reports;
  return sample;
}

function reportsOf(sample: Sample): ReportSentence[][] {
  return sample.reports ?? [sample.sentences];
}

/** Options of `checkData`. */
export interface CheckDataOptions {
  /** Called after each decoded image with the number done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** The problems and the summary that `checkData` returns. */
export interface DataCheckResult {
  source: DataSource;
  /** Every problem, sorted by line; errors stop a run, warnings do not. */
  problems: DataProblem[];
  summary: DataSummary;
}

/**
 * Check the data set of `config` as `tandem data check` does: every problem that `loadData` would stop
 * on, with every image decoded (not only those a run with data.maxImages would use), and a summary that
 * includes the split the run would use. Throws DataError only when the data set cannot be read at all.
 */
export async function checkData(config: ExperimentConfig, configDir: string, options: CheckDataOptions = {}): Promise<DataCheckResult> {
  const data = config.data;
  const source = await readDataSource(data, configDir);
  const decoded = await decodeEntries(source, source.entries, {
    size: data.resizeTo,
    mode: data.resizeMode,
    onProgress: options.onProgress,
  });
  const split = assignSplits(source.entries, source.hasSplits, data, config.seed);
  const problems = sortDataProblems([
    ...source.problems,
    ...checkEntries(source, data),
    ...decoded.problems,
    ...checkSeededSplit(source, split),
    ...checkSplitSizes(source, split),
  ]);
  const classes = classNames(source.entries, data.labels);
  const summary = summariseData(source, classes, split, data, decoded.info);
  return { source, problems, summary };
}
