import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from '../../src/random.ts';
import { iterateBatches, makeBatch } from '../../src/data/batch.ts';
import { buildVocabulary, END_OF_SENTENCE_ID, PADDING_ID } from '../../src/data/text.ts';
import type { PreparedData, Sample } from '../../src/data/types.ts';
import { makeExperimentConfig } from '../fixtures/experiment-config.ts';

const IMAGE_SIZE = 16;
const RESIZE_TO = 20;
const MAX_SENTENCES = 3;
const MAX_SENTENCE_TOKENS = 4;

function makeSample(id: string, label: number, sentences: [text: string, type: string][]): Sample {
  return {
    id,
    imagePath: `/nowhere/${id}`,
    label,
    labelName: ['ABD', 'CHEST', 'HEAD'][label],
    patientId: `patient-${id}`,
    sentences: sentences.map(([text, type]) => ({ text, type })),
  };
}

/** Prepared data around `samples`: each image is a gradient offset by its index, the mean is fixed. */
function makePrepared(samples: Sample[]): PreparedData {
  const config = makeExperimentConfig({
    data: { imageSize: IMAGE_SIZE, resizeTo: RESIZE_TO, maxSentences: MAX_SENTENCES, maxSentenceTokens: MAX_SENTENCE_TOKENS },
  }).data;
  const pixels = new Map<string, Uint8Array>();
  samples.forEach((sample, index) => {
    const image = new Uint8Array(RESIZE_TO * RESIZE_TO * 3);
    for (let i = 0; i < image.length; i++) image[i] = (i + index * 17) % 256;
    pixels.set(sample.id, image);
  });
  return {
    root: '/nowhere',
    classes: ['ABD', 'CHEST', 'HEAD'],
    train: samples,
    validation: [],
    test: [],
    vocabulary: buildVocabulary(samples.flatMap((sample) => sample.sentences.map((sentence) => sentence.text)), 1),
    mean: [0.25, 0.5, 0.75],
    patients: samples.length,
    images: samples.length,
    emptyReports: samples.filter((sample) => sample.sentences.length === 0).length,
    sentenceTypes: [],
    pixels,
    config,
  };
}

const SAMPLES = [
  makeSample('four-sentences.jpg', 0, [
    ['Is there a mass? yes.', 'PRES'],
    ['Is it large? no.', 'SIZE'],
    ['Where? liver.', 'POS'],
    ['Is this dropped? yes.', 'OTHER'],
  ]),
  makeSample('empty.jpg', 2, []),
  makeSample('long-sentence.jpg', 1, [['one two three four five six seven', 'COUNT']]),
];

describe('makeBatch', () => {
  const prepared = makePrepared(SAMPLES);
  const batch = makeBatch(SAMPLES, prepared, { augment: false });

  test('has the documented shapes', () => {
    assert.equal(batch.size, 3);
    assert.equal(batch.imageSize, IMAGE_SIZE);
    assert.equal(batch.images.length, 3 * IMAGE_SIZE * IMAGE_SIZE * 3);
    assert.equal(batch.tokens.length, 3 * batch.steps);
    assert.equal(batch.sentencePositions.length, 3 * MAX_SENTENCES);
    assert.equal(batch.sentenceMask.length, 3 * MAX_SENTENCES);
    assert.deepEqual([...batch.labels], [0, 2, 1]);
    assert.deepEqual(batch.ids, ['four-sentences.jpg', 'empty.jpg', 'long-sentence.jpg']);
  });

  test('steps is the longest report', () => {
    // The first report keeps sentences of 5, 4 and 2 words; each keeps at most 3 words plus its end token.
    assert.equal(batch.steps, 4 + 4 + 3);
  });

  test('sentence positions point at end tokens', () => {
    for (let row = 0; row < batch.size; row++) {
      const tokens = batch.tokens.subarray(row * batch.steps, (row + 1) * batch.steps);
      const ends = [...tokens.keys()].filter((step) => tokens[step] === END_OF_SENTENCE_ID);
      const present = [...batch.sentenceMask.subarray(row * MAX_SENTENCES, (row + 1) * MAX_SENTENCES)];
      const positions = [...batch.sentencePositions.subarray(row * MAX_SENTENCES, (row + 1) * MAX_SENTENCES)];
      assert.deepEqual(positions.slice(0, ends.length), ends, `row ${row}`);
      assert.deepEqual(present, positions.map((_, slot) => (slot < ends.length ? 1 : 0)), `row ${row}`);
      assert.ok(positions.slice(ends.length).every((position) => position === 0), `row ${row}`);
    }
    assert.deepEqual([...batch.sentencePositions.subarray(0, 3)], [3, 7, 10]);
  });

  test('keeps maxSentences and cuts tokens', () => {
    assert.deepEqual(batch.sentenceTypes, [['PRES', 'SIZE', 'POS'], [], ['COUNT']]);
    const third = [...batch.tokens.subarray(2 * batch.steps, 3 * batch.steps)];
    const vocabulary = prepared.vocabulary;
    assert.deepEqual(third.slice(0, 4), [vocabulary.idOf('one'), vocabulary.idOf('two'), vocabulary.idOf('three'), END_OF_SENTENCE_ID]);
    assert.ok(third.slice(4).every((id) => id === PADDING_ID));
  });

  test('empty report is all padding and masked', () => {
    assert.ok(batch.tokens.subarray(batch.steps, 2 * batch.steps).every((id) => id === PADDING_ID));
    assert.ok(batch.sentenceMask.subarray(MAX_SENTENCES, 2 * MAX_SENTENCES).every((value) => value === 0));
  });

  test('all-empty batch has one step', () => {
    const emptyOnly = makeBatch([SAMPLES[1]], prepared, { augment: false });
    assert.equal(emptyOnly.steps, 1);
    assert.deepEqual([...emptyOnly.tokens], [PADDING_ID]);
  });

  test('evaluation image is the centre crop minus the mean', () => {
    const pixels = prepared.pixels.get(SAMPLES[2].id)!;
    const offset = (RESIZE_TO - IMAGE_SIZE) / 2;
    const start = 2 * IMAGE_SIZE * IMAGE_SIZE * 3;
    for (const [x, y, channel] of [[0, 0, 0], [5, 9, 1], [15, 15, 2]]) {
      const expected = pixels[((y + offset) * RESIZE_TO + x + offset) * 3 + channel] / 255 - prepared.mean[channel];
      const actual = batch.images[start + (y * IMAGE_SIZE + x) * 3 + channel];
      assert.ok(Math.abs(actual - expected) < 1e-6, `pixel ${x},${y},${channel}: ${actual} against ${expected}`);
    }
  });

  test('augmentation is seeded', () => {
    const first = makeBatch(SAMPLES, prepared, { augment: true, random: new Random(3) });
    const again = makeBatch(SAMPLES, prepared, { augment: true, random: new Random(3) });
    const other = makeBatch(SAMPLES, prepared, { augment: true, random: new Random(4) });
    assert.deepEqual(first.images, again.images);
    assert.notDeepEqual(first.images, other.images);
    assert.notDeepEqual(first.images, batch.images);
    assert.deepEqual(first.tokens, batch.tokens);
  });

  test('augment without random throws', () => {
    assert.throws(() => makeBatch(SAMPLES, prepared, { augment: true }), /needs options\.random/);
  });

  test('no samples throws', () => {
    assert.throws(() => makeBatch([], prepared, { augment: false }), /at least one sample/);
  });
});

describe('iterateBatches', () => {
  const samples = Array.from({ length: 7 }, (_, index) => makeSample(`image-${index}.jpg`, index % 3, [['a b.', 'PRES']]));
  const prepared = makePrepared(samples);
  const idsOf = (random: Random, shuffle = true) =>
    [...iterateBatches(samples, prepared, { batchSize: 3, shuffle, augment: false, random })].map((batch) => batch.ids);

  test('visits every sample once', () => {
    const batches = idsOf(new Random(1));
    assert.deepEqual(batches.map((ids) => ids.length), [3, 3, 1]);
    assert.deepEqual(batches.flat().sort(), samples.map((sample) => sample.id).sort());
  });

  test('shuffle is seeded and changes per epoch', () => {
    assert.deepEqual(idsOf(new Random(1)), idsOf(new Random(1)));
    const random = new Random(1);
    assert.notDeepEqual(idsOf(random), idsOf(random));
  });

  test('without shuffle keeps order', () => {
    assert.deepEqual(idsOf(new Random(1), false).flat(), samples.map((sample) => sample.id));
  });

  test('dropRemainder skips the short batch', () => {
    const batches = [...iterateBatches(samples, prepared, { batchSize: 3, shuffle: false, augment: false, dropRemainder: true })];
    assert.deepEqual(batches.map((batch) => batch.size), [3, 3]);
  });
});

describe('makeBatch with several reports', () => {
  const reports = [
    [{ text: 'first report.', type: 'A' }],
    [{ text: 'second report.', type: 'B' }],
    [{ text: 'third report.', type: 'C' }],
  ];
  const multi: Sample = { ...makeSample('multi.jpg', 0, []), sentences: reports[0], reports };
  const single = makeSample('single.jpg', 1, [['only report.', 'D']]);
  const prepared = makePrepared([multi, single]);
  prepared.vocabulary = buildVocabulary(['first second third only report'], 1);

  test('evaluation uses the first report', () => {
    const batch = makeBatch([multi, single], prepared, { augment: false });
    assert.deepEqual(batch.sentenceTypes, [['A'], ['D']]);
  });

  test('training draws a report per visit', () => {
    const random = new Random(3);
    const drawn = new Set<string>();
    for (let visit = 0; visit < 30; visit++) drawn.add(makeBatch([multi], prepared, { augment: true, random }).sentenceTypes[0][0]);
    assert.deepEqual([...drawn].sort(), ['A', 'B', 'C']);
  });

  test('draws are seeded', () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 10 }, () => makeBatch([multi], prepared, { augment: true, random }).sentenceTypes[0][0]).join('');
    };
    assert.equal(draw(11), draw(11));
  });

  test('sampleReports false keeps the first', () => {
    const random = new Random(5);
    for (let visit = 0; visit < 10; visit++) {
      const batch = makeBatch([multi], prepared, { augment: true, sampleReports: false, random });
      assert.deepEqual(batch.sentenceTypes, [['A']]);
    }
  });

  test('single report draws nothing extra', () => {
    const withReports = new Random(8);
    const plain = new Random(8);
    const augmentOnly = makeBatch([single], prepared, { augment: true, sampleReports: false, random: plain });
    const sampled = makeBatch([single], prepared, { augment: true, random: withReports });
    assert.deepEqual(sampled.images, augmentOnly.images);
    assert.equal(withReports.nextUint32(), plain.nextUint32());
  });

  test('drawn report fills tokens and mask', () => {
    const random = new Random(3);
    const batch = makeBatch([multi], prepared, { augment: true, random });
    const word = { A: 'first', B: 'second', C: 'third' }[batch.sentenceTypes[0][0] as 'A' | 'B' | 'C'];
    assert.equal(batch.tokens[0], prepared.vocabulary.idOf(word));
    assert.deepEqual([...batch.sentenceMask], [1, 0, 0]);
  });
});
