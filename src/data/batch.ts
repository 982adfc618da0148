/** Mini-batches: the arrays the model reads, built from samples and the prepared data. */
import type { Random } from '../random.ts';
import { centreTransform, drawTransform, renderImage } from './augment.ts';
import type { PreparedData, Sample } from './types.ts';

/** One mini-batch. B = size, S = imageSize, T = steps, N = data.maxSentences. */
export interface Batch {
  /** B, the number of samples. */
  size: number;
  /** B x S x S x 3 floats, NHWC, pixel / 255 minus the training RGB mean of its channel. */
  images: Float32Array;
  /** S, the side of each image in pixels. */
  imageSize: number;
  /**
   * B x T word ids. A report is its kept sentences' tokens concatenated, each sentence ending in the
   * end-of-sentence id 1; padding id 0 follows the report's last token.
   */
  tokens: Int32Array;
  /** T, the longest report in this batch in tokens, at least 1. */
  steps: number;
  /** B x N: time step of each sentence's end-of-sentence token; 0 where the sentence is absent. */
  sentencePositions: Int32Array;
  /** B x N: 1 where the sentence exists, else 0. */
  sentenceMask: Float32Array;
  /** Per sample, the type of each kept sentence (for VQA-RAD the normalised question type; "" when untyped). */
  sentenceTypes: string[][];
  /** B class indices into `PreparedData.classes`. */
  labels: Int32Array;
  /** Per sample, its id (`Sample.id`): for VQA-RAD the image file name. */
  ids: string[];
}

/** Options of `makeBatch`. */
export interface MakeBatchOptions {
  /** Draw a random crop, rotation and mirror per sample (training); false takes the centre crop. */
  augment: boolean;
  /**
   * Draw one report per sample from `Sample.reports` (training); false takes each sample's first report,
   * `Sample.sentences` (evaluation). Defaults to `augment`.
   */
  sampleReports?: boolean;
  /**
   * Source of the random draws, in batch order: per sample four for the augmentation when `augment` is
   * true, then one for the report when `sampleReports` is true and the sample has several reports.
   * Required when either option is true.
   */
  random?: Random;
}

/**
 * Build one batch from `samples`, in their order. A sample with several reports contributes the one that
 * `options.sampleReports` selects. Reports keep their first data.maxSentences sentences, each cut to
 * data.maxSentenceTokens tokens including its end-of-sentence token. Every sample must come from
 * `prepared`, whose pixels, vocabulary and mean are used.
 */
export function makeBatch(samples: readonly Sample[], prepared: PreparedData, options: MakeBatchOptions): Batch {
  if (samples.length === 0) throw new RangeError('makeBatch needs at least one sample.');
  const sampleReports = options.sampleReports ?? options.augment;
  if ((options.augment || sampleReports) && options.random === undefined) {
    throw new TypeError('makeBatch with augment or sampleReports true needs options.random for the random draws.');
  }

  const { imageSize, resizeTo, maxSentences, maxSentenceTokens } = prepared.config;
  const size = samples.length;
  const pixelsPerImage = imageSize * imageSize * 3;
  const images = new Float32Array(size * pixelsPerImage);
  const labels = new Int32Array(size);
  const reports: number[][] = [];
  const positions: number[][] = [];
  const sentenceTypes: string[][] = [];

  samples.forEach((sample, index) => {
    const pixels = prepared.pixels.get(sample.id);
    if (pixels === undefined) throw new Error(`Sample ${sample.id} has no decoded pixels in this PreparedData.`);
    const transform = options.augment
      ? drawTransform(options.random!, resizeTo, imageSize, prepared.config.augment)
      : centreTransform(resizeTo, imageSize);
    renderImage(pixels, resizeTo, imageSize, transform, prepared.mean, images, index * pixelsPerImage);
    labels[index] = sample.label;

    // A sample with one report draws nothing, so data sets without extra reports keep their sequence.
    const choices = sample.reports;
    const drawsReport = sampleReports && choices !== undefined && choices.length > 1;
    const chosen = drawsReport ? choices[options.random!.int(choices.length)] : sample.sentences;
    const keptSentences = chosen.slice(0, maxSentences);
    const report: number[] = [];
    const ends: number[] = [];
    for (const sentence of keptSentences) {
      report.push(...prepared.vocabulary.encode(sentence.text, maxSentenceTokens));
      ends.push(report.length - 1);
    }
    reports.push(report);
    positions.push(ends);
    sentenceTypes.push(keptSentences.map((sentence) => sentence.type));
  });

  const steps = Math.max(1, ...reports.map((report) => report.length));
  const tokens = new Int32Array(size * steps);
  const sentencePositions = new Int32Array(size * maxSentences);
  const sentenceMask = new Float32Array(size * maxSentences);
  reports.forEach((report, index) => {
    tokens.set(report, index * steps);
    positions[index].forEach((position, sentence) => {
      sentencePositions[index * maxSentences + sentence] = position;
      sentenceMask[index * maxSentences + sentence] = 1;
    });
  });

  return {
    size,
    images,
    imageSize,
    tokens,
    steps,
    sentencePositions,
    sentenceMask,
    sentenceTypes,
    labels,
    ids: samples.map((sample) => sample.id),
  };
}

/** Options of `iterateBatches`. */
export interface IterateBatchesOptions {
  /** Maximum samples per batch; the last batch may be smaller. */
  batchSize: number;
  /** Visit the samples in an order drawn from `random` (training), else in the given order. */
  shuffle: boolean;
  /** As in `makeBatch`. */
  augment: boolean;
  /** Source of the shuffle and augmentation draws; required when `shuffle` or `augment` is true. */
  random?: Random;
  /** Skip a last batch smaller than `batchSize`, for example to avoid a batch of one in training. */
  dropRemainder?: boolean;
}

/**
 * Yield the batches of one pass over `samples`. The shuffle is drawn from `random` before the first
 * batch, then each batch draws its augmentations as it is built, so the sequence depends only on the
 * state of `random`. Passing the same Random to successive epochs gives each epoch a new order.
 */
export function* iterateBatches(
  samples: readonly Sample[],
  prepared: PreparedData,
  options: IterateBatchesOptions,
): Generator<Batch, void, undefined> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}.`);
  }
  if ((options.shuffle || options.augment) && options.random === undefined) {
    throw new TypeError('iterateBatches with shuffle or augment needs options.random.');
  }
  const order = options.shuffle ? options.random!.shuffle([...samples]) : [...samples];
  for (let start = 0; start < order.length; start += options.batchSize) {
    const chunk = order.slice(start, start + options.batchSize);
    if (options.dropRemainder && chunk.length < options.batchSize) return;
    yield makeBatch(chunk, prepared, { augment: options.augment, random: options.random });
  }
}
