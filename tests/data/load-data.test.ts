import assert from 'node:assert/strict';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { computeChannelMean, DataProblemsError, loadData, makeBatch, tokenize, type PreparedData } from '../../src/data/index.ts';
import { makeExperimentConfig } from '../fixtures/experiment-config.ts';
import { REAL_DATA_ROOT, SKIP_WITHOUT_REAL_DATA, writeFixture, type Fixture } from '../fixtures/vqa-rad-fixture.ts';

const SMALL_IMAGES = { imageSize: 16, resizeTo: 20 };
const savedRoot = process.env.TANDEM_DATA_ROOT;

function restoreEnvironment(): void {
  if (savedRoot === undefined) delete process.env.TANDEM_DATA_ROOT;
  else process.env.TANDEM_DATA_ROOT = savedRoot;
}

describe('loadData on fixture', () => {
  let fixture: Fixture;
  let prepared: PreparedData;
  const progress: [number, number][] = [];

  before(async () => {
    delete process.env.TANDEM_DATA_ROOT;
    fixture = await writeFixture();
    const config = makeExperimentConfig({ data: { root: path.basename(fixture.root), ...SMALL_IMAGES } });
    prepared = await loadData(config, path.dirname(fixture.root), (done, total) => progress.push([done, total]));
  });
  after(async () => {
    restoreEnvironment();
    await fixture.remove();
  });

  test('reads root relative to configDir', () => {
    assert.equal(prepared.root, fixture.root);
    assert.equal(prepared.images, 9);
    assert.equal(prepared.patients, 8);
    assert.deepEqual(prepared.classes, ['ABD', 'CHEST', 'HEAD']);
  });

  test('counts the empty ORGAN-only report', () => {
    assert.equal(prepared.emptyReports, 1);
    const all = [...prepared.train, ...prepared.validation, ...prepared.test];
    const empty = all.find((sample) => sample.id === 'head-3.png')!;
    assert.deepEqual(empty.sentences, []);
    assert.ok(!prepared.sentenceTypes.includes('ORGAN'));
  });

  test('empty ORGAN-only report is a warning', () => {
    const warnings = prepared.warnings ?? [];
    assert.equal(warnings.filter((warning) => warning.includes('empty-report')).length, 1);
    assert.ok(warnings.some((warning) => /:\d+  empty-report  image head-3\.png has only ORGAN questions/.test(warning)), warnings.join('\n'));
  });

  test('labels index the sorted classes', () => {
    for (const sample of [...prepared.train, ...prepared.validation, ...prepared.test]) {
      assert.equal(prepared.classes[sample.label], sample.labelName);
      assert.equal(sample.imagePath, path.join(fixture.root, 'images', sample.id));
    }
  });

  test('shared case stays in one split', () => {
    const setOf = (id: string) =>
      (['train', 'validation', 'test'] as const).find((set) => prepared[set].some((sample) => sample.id === id));
    assert.equal(setOf('abd-2.jpg'), setOf('abd-3.jpg'));
  });

  test('vocabulary holds training words only', () => {
    const trainingWords = new Set(prepared.train.flatMap((sample) => sample.sentences.flatMap((sentence) => tokenize(sentence.text))));
    assert.deepEqual(new Set(prepared.vocabulary.words.slice(3)), trainingWords);
  });

  test('mean covers the training pixels', () => {
    const expected = computeChannelMean(prepared.train.map((sample) => prepared.pixels.get(sample.id)!));
    assert.deepEqual(prepared.mean, expected);
    assert.ok(prepared.mean.every((value) => value > 0 && value < 1));
    for (const pixels of prepared.pixels.values()) assert.equal(pixels.length, 20 * 20 * 3);
  });

  test('progress counts every image', () => {
    assert.equal(progress.length, 9);
    assert.deepEqual(progress.at(-1), [9, 9]);
  });

  test('batch from loaded data', () => {
    const batch = makeBatch(prepared.train, prepared, { augment: false });
    assert.equal(batch.images.length, prepared.train.length * 16 * 16 * 3);
    assert.ok(batch.images.some((value) => value !== 0));
  });
});

describe('loadData options', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await writeFixture();
  });
  afterEach(restoreEnvironment);
  after(async () => {
    await fixture.remove();
  });

  test('environment variable overrides data.root', async () => {
    process.env.TANDEM_DATA_ROOT = fixture.root;
    const config = makeExperimentConfig({ data: { root: 'no-such-folder', ...SMALL_IMAGES } });
    const prepared = await loadData(config, '/nowhere');
    assert.equal(prepared.root, fixture.root);
  });

  test('ORGAN questions kept on request', async () => {
    const config = makeExperimentConfig({ data: { root: fixture.root, includeOrganQuestions: true, ...SMALL_IMAGES } });
    const prepared = await loadData(config, '/nowhere');
    assert.equal(prepared.emptyReports, 0);
    assert.ok(prepared.sentenceTypes.includes('ORGAN'));
  });

  test('same seed same split', async () => {
    const ids = async (seed: number) => {
      const prepared = await loadData(makeExperimentConfig({ seed, data: { root: fixture.root, ...SMALL_IMAGES } }), '/nowhere');
      return [prepared.train, prepared.validation, prepared.test].map((set) => set.map((sample) => sample.id));
    };
    assert.deepEqual(await ids(5), await ids(5));
  });

  test('resizeTo below imageSize is rejected', async () => {
    const config = makeExperimentConfig({ data: { root: fixture.root, imageSize: 32, resizeTo: 24 } });
    await assert.rejects(loadData(config, '/nowhere'), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.match(error.message, /Set data\.resizeTo to at least 32/);
      return true;
    });
  });

  test('missing root names the path', async () => {
    delete process.env.TANDEM_DATA_ROOT;
    const config = makeExperimentConfig({ data: { root: 'absent-data' } });
    await assert.rejects(loadData(config, fixture.root), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.ok(error.message.includes(path.join(fixture.root, 'absent-data')), error.message);
      assert.match(error.message, /data\.root \("absent-data"\)/);
      assert.match(error.message, /Open Science Framework project 89kps/);
      return true;
    });
  });
});

describe('loadData broken files', () => {
  let fixture: Fixture;
  before(async () => {
    delete process.env.TANDEM_DATA_ROOT;
  });
  afterEach(async () => {
    await fixture.remove();
  });
  after(restoreEnvironment);

  test('missing image names file, line and fix', async () => {
    fixture = await writeFixture();
    const missing = path.join(fixture.root, 'images', 'chest-2.jpg');
    await unlink(missing);
    const config = makeExperimentConfig({ data: { root: fixture.root, ...SMALL_IMAGES } });
    const expectedLine = await firstRecordLine(fixture, 'chest-2.jpg');
    await assert.rejects(loadData(config, '/nowhere'), (error: Error) => {
      assert.ok(error instanceof DataProblemsError);
      assert.equal(error.problems.length, 1);
      assert.equal(error.problems[0].code, 'missing-image');
      assert.equal(error.problems[0].line, expectedLine);
      assert.ok(error.message.includes(`image "chest-2.jpg" was not found (looked for ${missing})`), error.message);
      assert.match(error.message, /Copy the missing file from the VQA-RAD release/);
      assert.match(error.message, /nothing was trained/);
      return true;
    });
  });

  test('corrupt image names file and fix', async () => {
    fixture = await writeFixture();
    const corrupt = path.join(fixture.root, 'images', 'abd-1.jpg');
    await writeFile(corrupt, Buffer.from('\xff\xd8 garbage bytes, not a JPEG body', 'latin1'));
    const config = makeExperimentConfig({ data: { root: fixture.root, ...SMALL_IMAGES } });
    await assert.rejects(loadData(config, '/nowhere'), (error: Error) => {
      assert.ok(error instanceof DataProblemsError);
      assert.equal(error.problems[0].code, 'unreadable-image');
      assert.ok(error.message.includes('image "abd-1.jpg" could not be decoded'), error.message);
      assert.match(error.message, /Replace it with an undamaged copy/);
      return true;
    });
  });

  test('truncated image fails at decode time', async () => {
    fixture = await writeFixture();
    const truncated = path.join(fixture.root, 'images', 'chest-1.jpg');
    const bytes = await readFile(truncated);
    await writeFile(truncated, bytes.subarray(0, 30));
    const config = makeExperimentConfig({ data: { root: fixture.root, ...SMALL_IMAGES } });
    await assert.rejects(loadData(config, '/nowhere'), (error: Error) => {
      assert.ok(error instanceof DataProblemsError);
      assert.equal(error.problems[0].code, 'unreadable-image');
      assert.match(error.problems[0].message, /^image "chest-1\.jpg" could not be decoded \(sharp: /);
      return true;
    });
  });
});

/** Line of the fixture's metadata file on which the first record of `image` starts. */
async function firstRecordLine(fixture: Fixture, image: string): Promise<number> {
  const lines = (await readFile(path.join(fixture.root, 'VQA_RAD Dataset Public.json'), 'utf8')).split('\n');
  const imageLine = lines.findIndex((line) => line.includes(`"image_name": "${image}"`));
  // writeFixture indents each record's fields one per line, with image_name second after qid.
  return imageLine + 1 - 2;
}

describe('loadData on real release', { skip: SKIP_WITHOUT_REAL_DATA }, () => {
  afterEach(restoreEnvironment);

  test('maxImages takes a balanced sample', async () => {
    delete process.env.TANDEM_DATA_ROOT;
    const config = makeExperimentConfig({ data: { root: REAL_DATA_ROOT, maxImages: 12, ...SMALL_IMAGES } });
    const prepared = await loadData(config, '/nowhere');
    const all = [...prepared.train, ...prepared.validation, ...prepared.test];
    assert.equal(prepared.images, 12);
    assert.equal(prepared.pixels.size, 12);
    for (const organ of ['ABD', 'CHEST', 'HEAD']) {
      assert.equal(all.filter((sample) => sample.labelName === organ).length, 4, organ);
    }
    for (const set of ['train', 'validation', 'test'] as const) {
      assert.ok(prepared[set].length > 0, `${set} is empty`);
    }
    const again = await loadData(config, '/nowhere');
    assert.deepEqual(again.test.map((sample) => sample.id), prepared.test.map((sample) => sample.id));
  });
});
