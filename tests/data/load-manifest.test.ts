import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { DataProblemsError, loadData, type PreparedData, type Sample } from '../../src/data/index.ts';
import { makeExperimentConfig, type ConfigOverrides } from '../fixtures/experiment-config.ts';
import {
  createDataFolder,
  standardRows,
  toCsvText,
  toJsonLines,
  writeRowImages,
  type DataFolder,
  type FixtureRow,
  type ImageKind,
} from '../fixtures/manifest-fixture.ts';

const FEATURES = ['pleomorphism', 'crowding', 'polarity', 'mitosis', 'nucleoli'];
const LABELS = ['normal', 'low grade', 'high grade'];
const SMALL_IMAGES = { imageSize: 16, resizeTo: 16 };

function manifestConfig(manifest: string, data: ConfigOverrides = {}) {
  return makeExperimentConfig({ data: { source: 'manifest', manifest, ...SMALL_IMAGES, ...data } });
}

/**
 * Rows where every image has two reports of five sentences, one per feature in FEATURES order, and the
 * images come in several formats. The patients of each label are in train, validation and test, in that
 * order.
 */
function paperStyleRows(): { rows: FixtureRow[]; kinds: ImageKind[] } {
  const kinds: ImageKind[] = ['png-grey16', 'tiff', 'jpeg'];
  const rows = LABELS.flatMap((label, labelIndex) =>
    ['train', 'validation', 'test'].map((split, index) => {
      const word = `${split}word${labelIndex}`;
      const report = (variant: string) =>
        `Nuclei are ${label} ${variant}. Cells are crowded. Polarity is ${word}. Mitosis is rare. Nucleoli are small.`;
      return {
        image: `tiles/${label.replace(' ', '-')}-${index}.${['png', 'tif', 'jpg'][index]}`,
        label,
        patient: `P${labelIndex}${index}`,
        split,
        reports: [report('first'), report('second')],
      };
    }),
  );
  return { rows, kinds };
}

describe('loadData on a paper-style manifest', () => {
  let folder: DataFolder;
  let manifest: string;
  let prepared: PreparedData;
  const all = () => [...prepared.train, ...prepared.validation, ...prepared.test];
  const sample = (id: string) => all().find((item) => item.id === id) as Sample;

  before(async () => {
    folder = await createDataFolder();
    const { rows, kinds } = paperStyleRows();
    await Promise.all(rows.map((row, index) => folder.writeImage(row.image, kinds[index % 3], { variant: index })));
    manifest = await folder.writeText('lists/manifest.jsonl', toJsonLines(rows.map((row) => ({ ...row, image: `../${row.image}` }))));
    prepared = await loadData(manifestConfig('lists/manifest.jsonl', { labels: LABELS, sentenceTypes: FEATURES }), folder.dir);
  });
  after(() => folder.remove());

  test('paths resolve from config and manifest', () => {
    assert.equal(prepared.root, manifest);
    assert.equal(sample('../tiles/normal-0.png').imagePath, path.join(folder.dir, 'tiles/normal-0.png'));
  });

  test('classes follow data.labels', () => {
    assert.deepEqual(prepared.classes, LABELS);
    assert.equal(sample('../tiles/high-grade-0.png').label, 2);
  });

  test('manifest split is kept', () => {
    assert.deepEqual(
      prepared.validation.map((item) => item.id),
      ['../tiles/normal-1.tif', '../tiles/low-grade-1.tif', '../tiles/high-grade-1.tif'],
    );
    assert.equal(prepared.train.length, 3);
    assert.equal(prepared.test.length, 3);
  });

  test('first report for evaluation, all for training', () => {
    const item = sample('../tiles/low-grade-0.png');
    assert.equal(item.sentences[0].text, 'Nuclei are low grade first.');
    assert.equal(item.reports?.length, 2);
    assert.equal(item.reports?.[1][0].text, 'Nuclei are low grade second.');
  });

  test('sentence types follow the fixed order', () => {
    assert.deepEqual(
      sample('../tiles/normal-2.jpg').sentences.map((sentence) => sentence.type),
      FEATURES,
    );
    assert.deepEqual(prepared.sentenceTypes, [...FEATURES].sort());
  });

  test('vocabulary covers every training report', () => {
    assert.ok(prepared.vocabulary.words.includes('second'));
    assert.ok(prepared.vocabulary.words.includes('trainword0'));
    assert.ok(!prepared.vocabulary.words.includes('testword0'));
  });

  test('16-bit PNG, TIFF and JPEG decode to RGB', () => {
    for (const id of ['../tiles/normal-0.png', '../tiles/normal-1.tif', '../tiles/normal-2.jpg']) {
      const pixels = prepared.pixels.get(id)!;
      assert.equal(pixels.length, 16 * 16 * 3, id);
      assert.ok(pixels.some((value) => value > 0), id);
    }
    const grey = prepared.pixels.get('../tiles/normal-0.png')!;
    for (let offset = 0; offset < grey.length; offset += 3) {
      assert.equal(grey[offset], grey[offset + 1]);
      assert.equal(grey[offset], grey[offset + 2]);
    }
  });
});

describe('loadData manifest options', () => {
  let folder: DataFolder;
  before(async () => {
    folder = await createDataFolder();
  });
  after(() => folder.remove());

  test('maxImages samples within each given split', async () => {
    const copies = standardRows({ splits: true }).map((row) => ({ ...row, image: row.image.replace('.png', '-b.png') }));
    const rows = [...standardRows({ splits: true }), ...copies];
    await writeRowImages(folder, rows);
    const manifest = await folder.writeText('max.jsonl', toJsonLines(rows));
    const prepared = await loadData(manifestConfig(manifest, { maxImages: 9 }), '/unused');
    assert.deepEqual([prepared.train.length, prepared.validation.length, prepared.test.length], [3, 3, 3]);
    for (const set of [prepared.train, prepared.validation, prepared.test]) {
      assert.deepEqual(set.map((item) => item.labelName).sort(), ['high grade', 'low grade', 'normal']);
    }
  });

  test('CSV report columns in number order', async () => {
    const rows = standardRows();
    await writeRowImages(folder, rows);
    const csv = toCsvText([
      ['image', 'label', 'patient', 'report_2', 'report_1'],
      ...rows.map((row) => [row.image, row.label, row.patient, 'Second report.', 'First report.']),
    ]);
    const prepared = await loadData(manifestConfig(await folder.writeText('columns.csv', csv)), '/unused');
    const sample = prepared.train[0];
    assert.equal(sample.sentences[0].text, 'First report.');
    assert.equal(sample.reports?.[1][0].text, 'Second report.');
  });

  test('errors stop loading with their lines', async () => {
    const rows = standardRows();
    rows[2].report = '';
    rows[6].label = 'unknown';
    await writeRowImages(folder, rows, [rows[4].image]);
    const manifest = await folder.writeText('broken/manifest.jsonl', toJsonLines(rows.map((row) => ({ ...row, image: `../${row.image}` }))));
    await assert.rejects(loadData(manifestConfig(manifest, { labels: LABELS }), '/unused'), (error: Error) => {
      assert.ok(error instanceof DataProblemsError);
      assert.match(error.message, /^The data set has at least \d+ errors, so nothing was trained:/);
      assert.match(error.message, /manifest\.jsonl:3  empty-report  /);
      assert.match(error.message, /manifest\.jsonl:7  unknown-label  /);
      return true;
    });
  });

  test('source manifest without data.manifest', async () => {
    const config = makeExperimentConfig({ data: { source: 'manifest', ...SMALL_IMAGES } });
    await assert.rejects(loadData(config, '/unused'), /data\.source is manifest, but data\.manifest is not set/);
  });

  test('missing manifest names the setting', async () => {
    await assert.rejects(loadData(manifestConfig('absent.csv'), '/configs'), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.match(error.message, /^Manifest file \/configs\/absent\.csv was not found \(set by data\.manifest \("absent\.csv"\)/);
      return true;
    });
  });

  test('unknown manifest extension', async () => {
    await assert.rejects(loadData(manifestConfig('list.xlsx'), '/configs'), /has the extension "\.xlsx", but a manifest must be JSON Lines/);
  });

  test('sentenceTypes with VQA-RAD is rejected', async () => {
    const config = makeExperimentConfig({ data: { sentenceTypes: ['A'], ...SMALL_IMAGES } });
    await assert.rejects(loadData(config, '/unused'), /data\.sentenceTypes applies to manifests only/);
  });
});
