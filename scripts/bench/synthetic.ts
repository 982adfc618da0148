/**
 * The inputs of the step benchmarks: the default experiment's config at a given image size and batch
 * size, and a batch of random images whose reports all have the same realistic length.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import type { Batch } from '../../src/data/index.ts';
import { END_OF_SENTENCE_ID } from '../../src/data/index.ts';
import { Random } from '../../src/random.ts';

/** The repository root. */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The default experiment, whose model every benchmark trains. */
export const DEFAULT_CONFIG = path.join(REPOSITORY_ROOT, 'configs/vqa-rad.yaml');

/**
 * Tokens per sentence of every benchmark report: 7 sentences and 66 tokens, the median sentence count
 * and the median report length (end-of-sentence tokens included) of the VQA-RAD training split with
 * the default config.
 */
export const REPORT_SENTENCE_LENGTHS = [10, 10, 9, 9, 9, 9, 10];

/** Words in the benchmark vocabulary: that of the VQA-RAD training split with the default config. */
export const VOCABULARY_SIZE = 1157;

export const CLASSES = 3;

/** The default experiment's config with `overrides` (`--set` values such as `data.imageSize=112`) applied. */
export function benchmarkConfig(overrides: string[]): { config: ExperimentConfig; configDir: string } {
  const loaded = loadConfig(DEFAULT_CONFIG, { overrides, workingDirectory: REPOSITORY_ROOT });
  return { config: loaded.config, configDir: loaded.dir };
}

/**
 * The config overrides of a step benchmark at `imageSize` pixels and `batchSize` samples. The backend
 * stays as the config sets it, and the benchmark selects its backend after loading the config.
 */
export function stepOverrides(imageSize: number, batchSize: number): string[] {
  return [`data.imageSize=${imageSize}`, `data.resizeTo=${imageSize}`, `train.batchSize=${batchSize}`];
}

/** A batch of `size` random images and identical reports of REPORT_SENTENCE_LENGTHS, seeded. */
export function syntheticBatch(size: number, imageSize: number, sentences: number, seed = 1234): Batch {
  const random = new Random(seed);
  const images = new Float32Array(size * imageSize * imageSize * 3);
  for (let i = 0; i < images.length; i++) images[i] = random.normal() * 0.25;

  const kept = REPORT_SENTENCE_LENGTHS.slice(0, sentences);
  const steps = kept.reduce((sum, length) => sum + length, 0);
  const tokens = new Int32Array(size * steps);
  const sentencePositions = new Int32Array(size * sentences);
  const sentenceMask = new Float32Array(size * sentences);
  const labels = new Int32Array(size);
  for (let sample = 0; sample < size; sample++) {
    let position = -1;
    kept.forEach((length, slot) => {
      for (let word = 0; word < length - 1; word++) tokens[sample * steps + position + 1 + word] = 2 + random.int(VOCABULARY_SIZE - 2);
      position += length;
      tokens[sample * steps + position] = END_OF_SENTENCE_ID;
      sentencePositions[sample * sentences + slot] = position;
      sentenceMask[sample * sentences + slot] = 1;
    });
    labels[sample] = random.int(CLASSES);
  }
  return {
    size,
    images,
    imageSize,
    tokens,
    steps,
    sentencePositions,
    sentenceMask,
    sentenceTypes: Array.from({ length: size }, () => kept.map(() => '')),
    labels,
    ids: Array.from({ length: size }, (_, index) => `synthetic-${index}`),
  };
}
