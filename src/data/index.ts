/**
 * The data pipeline: reads VQA-RAD, builds reports, splits by patient, builds the vocabulary, decodes
 * the images once, and makes batches. `loadData` is the entry point.
 */
import path from 'node:path';
import type { ExperimentConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { Random } from '../random.ts';
import { computeChannelMean, decodeImages } from './images.ts';
import { buildReport } from './reports.ts';
import { resolveDataRoot } from './root.ts';
import { groupPatients, sampleBalanced, splitByPatient } from './split.ts';
import { buildVocabulary } from './text.ts';
import type { PreparedData, Sample } from './types.ts';
import { compareStrings, IMAGE_FOLDER_NAME, readVqaRad, requireImageFiles } from './vqa-rad.ts';

export { centreTransform, drawTransform, renderImage, type AugmentSettings, type ImageTransform } from './augment.ts';
export { iterateBatches, makeBatch, type Batch, type IterateBatchesOptions, type MakeBatchOptions } from './batch.ts';
export { computeChannelMean, decodeImage, decodeImages, type ResizeMode } from './images.ts';
export { normaliseQuestionType, ORGAN_QUESTION_TYPE, QUESTION_TYPE_FIXES } from './question-types.ts';
export { buildReport, buildSentence, type ReportSentence } from './reports.ts';
export { DATA_ROOT_VARIABLE, resolveDataRoot } from './root.ts';
export { groupPatients, sampleBalanced, splitByPatient } from './split.ts';
export { buildVocabulary, END_OF_SENTENCE_ID, PADDING_ID, SPECIAL_TOKENS, tokenize, UNKNOWN_ID, Vocabulary } from './text.ts';
export type { PreparedData, Sample } from './types.ts';
export { METADATA_FILE_NAME, readVqaRad, type VqaRadImage } from './vqa-rad.ts';

/**
 * Load the data set for one run. The data folder is TANDEM_DATA_ROOT when set, else `config.data.root`
 * relative to `configDir` (the config file's folder). Applies data.maxImages (a label-balanced sample
 * drawn from the seed's 'max-images' stream), splits by patient with the seed's 'split' stream, builds
 * the vocabulary from the training reports, and decodes every used image once at data.resizeTo pixels,
 * calling `onProgress(done, total)` after each image. Throws DataError for a missing folder or file, an
 * invalid record or an image that cannot be decoded.
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

  const root = resolveDataRoot(data.root, configDir);
  const allImages = await readVqaRad(root);
  const imageFolder = path.join(root.path, IMAGE_FOLDER_NAME);
  await requireImageFiles(allImages, imageFolder);

  const classes = [...new Set(allImages.map((image) => image.organ))].sort(compareStrings);
  const patientOf = groupPatients(allImages);
  const seedRandom = new Random(config.seed);
  const images =
    data.maxImages === null
      ? allImages
      : sampleBalanced(allImages, data.maxImages, (image) => image.organ, seedRandom.fork('max-images'));

  const samples: Sample[] = images.map((image) => ({
    id: image.name,
    imagePath: path.join(imageFolder, image.name),
    label: classes.indexOf(image.organ),
    labelName: image.organ,
    patientId: patientOf.get(image.name)!,
    sentences: buildReport(image.records, data.includeOrganQuestions),
  }));

  const split = splitByPatient(
    samples,
    (sample) => sample.patientId,
    (sample) => sample.labelName,
    data.split,
    seedRandom.fork('split'),
  );
  const trainingSentences = split.train.flatMap((sample) =>
    sample.sentences.slice(0, data.maxSentences).map((sentence) => sentence.text),
  );
  const vocabulary = buildVocabulary(trainingSentences, data.minWordCount, data.maxSentenceTokens);

  const decoded = await decodeImages(
    samples.map((sample) => sample.imagePath),
    { size: data.resizeTo, mode: data.resizeMode, onProgress },
  );
  const pixels = new Map(samples.map((sample, index) => [sample.id, decoded[index]]));
  const mean = computeChannelMean(split.train.map((sample) => pixels.get(sample.id)!));

  return {
    root: root.path,
    classes,
    train: split.train,
    validation: split.validation,
    test: split.test,
    vocabulary,
    mean,
    patients: new Set(samples.map((sample) => sample.patientId)).size,
    images: samples.length,
    emptyReports: samples.filter((sample) => sample.sentences.length === 0).length,
    sentenceTypes: [...new Set(samples.flatMap((sample) => sample.sentences.map((s) => s.type)))].sort(compareStrings),
    pixels,
    config: data,
  };
}
