/**
 * A small synthetic data set for model and training tests: the class is visible in the image (a bright
 * square in a class-specific corner) and named in the report, so a working model learns it quickly.
 */
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { buildVocabulary, type PreparedData, type Sample } from '../../src/data/index.ts';
import { Random } from '../../src/random.ts';
import { makeExperimentConfig, mergeDeep, type ConfigOverrides } from '../fixtures/experiment-config.ts';

/** Build a config with tiny model sizes, with `overrides` merged in section by section. */
export function tinyConfig(overrides: ConfigOverrides = {}): ExperimentConfig {
  const base = {
    name: 'tiny',
    data: { imageSize: 16, resizeTo: 16, maxSentences: 3, maxSentenceTokens: 6 },
    model: {
      backbone: { depth: 10, widenFactor: 1 },
      text: { embeddingSize: 8, hiddenSize: 8 },
      attention: { size: 8 },
    },
    train: { epochs: 2, batchSize: 8 },
  };
  return makeExperimentConfig(mergeDeep(base, overrides));
}

const CLASSES = ['ABD', 'CHEST', 'HEAD'];
const WORDS = ['liver', 'lungs', 'brain'];

/** `perClass` samples of each of three classes in each split, with images of `config.data.resizeTo` pixels. */
export function tinyData(config: ExperimentConfig, perClass = 8, seed = 7): PreparedData {
  const random = new Random(seed);
  const side = config.data.resizeTo;
  const pixels = new Map<string, Uint8Array>();
  const makeSamples = (split: string): Sample[] => {
    const samples: Sample[] = [];
    for (let label = 0; label < CLASSES.length; label++) {
      for (let i = 0; i < perClass; i++) {
        const id = `${split}-${label}-${i}.png`;
        const image = new Uint8Array(side * side * 3);
        for (let p = 0; p < image.length; p++) image[p] = random.int(60);
        // A bright square in the top-left, top-right or bottom-left quarter marks the class.
        const [top, left] = [[0, 0], [0, side / 2], [side / 2, 0]][label];
        for (let y = top; y < top + side / 2; y++) {
          for (let x = left; x < left + side / 2; x++) for (let c = 0; c < 3; c++) image[(y * side + x) * 3 + c] = 200;
        }
        pixels.set(id, image);
        samples.push({
          id,
          imagePath: `/synthetic/${id}`,
          label,
          labelName: CLASSES[label],
          patientId: `${split}-patient-${label}-${i}`,
          sentences: [
            { text: `is this the ${WORDS[label]} yes.`, type: 'ORGAN' },
            { text: 'is there an abnormality no.', type: 'ABN' },
          ].slice(0, 1 + (i % 2)),
        });
      }
    }
    return samples;
  };
  const train = makeSamples('train');
  const vocabulary = buildVocabulary(
    train.flatMap((s) => s.sentences.map((sentence) => sentence.text)),
    config.data.minWordCount,
    config.data.maxSentenceTokens,
  );
  return {
    root: '/synthetic',
    classes: CLASSES,
    train,
    validation: makeSamples('validation'),
    test: makeSamples('test'),
    vocabulary,
    mean: [0.3, 0.3, 0.3],
    patients: perClass * 9,
    images: perClass * 9,
    emptyReports: 0,
    sentenceTypes: ['ABN', 'ORGAN'],
    pixels,
    config: config.data,
  };
}
