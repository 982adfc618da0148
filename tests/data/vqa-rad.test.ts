import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { resolveDataRoot } from '../../src/data/root.ts';
import { arrayElementLines, readVqaRad } from '../../src/data/vqa-rad.ts';
import {
  defaultFixtureRecords,
  FIXTURE_METADATA_FILE,
  REAL_DATA_ROOT,
  SKIP_WITHOUT_REAL_DATA,
  writeFixture,
  type Fixture,
} from '../fixtures/vqa-rad-fixture.ts';

describe('resolveDataRoot', () => {
  test('resolves data.root against the config folder', () => {
    const root = resolveDataRoot('../data/vqa', '/project/configs', {});
    assert.equal(root.path, path.resolve('/project/data/vqa'));
    assert.match(root.origin, /data\.root \("\.\.\/data\/vqa"\)/);
  });

  test('environment variable overrides data.root', () => {
    const root = resolveDataRoot('../data/vqa', '/project/configs', { TANDEM_DATA_ROOT: '/elsewhere/vqa' });
    assert.equal(root.path, path.resolve('/elsewhere/vqa'));
    assert.match(root.origin, /TANDEM_DATA_ROOT/);
  });

  test('empty environment variable is ignored', () => {
    const root = resolveDataRoot('data', '/project', { TANDEM_DATA_ROOT: '  ' });
    assert.equal(root.path, path.resolve('/project/data'));
  });
});

describe('readVqaRad errors', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'tandem-vqa-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('missing root names path, setting and source', async () => {
    const missing = path.join(folder, 'no-such-folder');
    const error = await readVqaRad(resolveDataRoot(missing, '/configs', {})).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.ok(error.message.includes(missing), error.message);
    assert.match(error.message, /data\.root/);
    assert.match(error.message, /TANDEM_DATA_ROOT/);
    assert.match(error.message, /Scientific Data 5, 180251 \(2018\)/);
    assert.match(error.message, /89kps/);
    assert.match(error.message, /CC0/);
    assert.doesNotMatch(error.message, /\n/);
  });

  test('missing metadata file names the file', async () => {
    const error = await readVqaRad(resolveDataRoot(folder, '/configs', {})).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.ok(error.message.includes(path.join(folder, FIXTURE_METADATA_FILE)), error.message);
    assert.match(error.message, /was not found/);
    assert.match(error.message, /89kps/);
  });

  test('invalid JSON is a DataError', async () => {
    await writeFile(path.join(folder, FIXTURE_METADATA_FILE), '[{"qid": 1,');
    const error = await readVqaRad(resolveDataRoot(folder, '/configs', {})).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.match(error.message, /is not valid JSON/);
  });

  test('invalid records are listed together', async () => {
    const records: unknown[] = defaultFixtureRecords();
    records.push({ qid: 'x', image_name: 'a.jpg' });
    records.push({ ...(records[0] as object), image_name: '../escape.jpg' });
    records.push(7);
    await writeFile(path.join(folder, FIXTURE_METADATA_FILE), JSON.stringify(records));
    const error = await readVqaRad(resolveDataRoot(folder, '/configs', {})).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.match(error.message, /3 invalid record\(s\)/);
    assert.match(error.message, /qid is "x", not a number/);
    assert.match(error.message, /image_organ is missing/);
    assert.match(error.message, /"\.\.\/escape\.jpg" is not a plain file name/);
    assert.match(error.message, new RegExp(`record ${records.length - 1} is 7, not an object`));
  });

  test('organ disagreement names the image', async () => {
    const records = defaultFixtureRecords();
    const target = records.find((record) => record.image_name === 'chest-2.jpg')!;
    target.image_organ = 'HEAD';
    await writeFile(path.join(folder, FIXTURE_METADATA_FILE), JSON.stringify(records));
    const error = await readVqaRad(resolveDataRoot(folder, '/configs', {})).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.match(error.message, /image chest-2\.jpg has records with different image_organ values/);
    assert.match(error.message, new RegExp(`qid ${target.qid}: HEAD`));
  });
});

describe('readVqaRad on fixture', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await writeFixture();
  });
  after(async () => {
    await fixture.remove();
  });

  test('groups records by image in qid order', async () => {
    const images = await readVqaRad(resolveDataRoot(fixture.root, '/configs', {}));
    assert.equal(images.length, 9);
    assert.deepEqual(
      images.map((image) => image.name),
      [...images.map((image) => image.name)].sort(),
    );
    const abd2 = images.find((image) => image.name === 'abd-2.jpg')!;
    assert.equal(abd2.organ, 'ABD');
    assert.deepEqual(abd2.caseUrls, ['https://medpix.example/case?id=case-shared']);
    const qids = abd2.records.map((record) => record.qid);
    assert.deepEqual(qids, [...qids].sort((a, b) => a - b));
    assert.equal(abd2.records.find((record) => record.questionType === 'COUNT')!.answer, '2');
  });
});

describe('readVqaRad on real release', { skip: SKIP_WITHOUT_REAL_DATA }, () => {
  test('reads 314 images in 3 organs', async () => {
    const images = await readVqaRad(resolveDataRoot(REAL_DATA_ROOT, '/configs', {}));
    assert.equal(images.length, 314);
    assert.equal(
      images.reduce((total, image) => total + image.records.length, 0),
      2248,
    );
    assert.deepEqual([...new Set(images.map((image) => image.organ))].sort(), ['ABD', 'CHEST', 'HEAD']);
    assert.equal(new Set(images.flatMap((image) => image.caseUrls)).size, 320);
    // The first record of the release has qid "0" as a string and image synpic54610.jpg.
    const first = images.find((image) => image.name === 'synpic54610.jpg')!;
    assert.equal(first.records[0].qid, 0);
    assert.ok(images.every((image) => image.records.every((record) => typeof record.answer === 'string')));
  });
});

describe('arrayElementLines', () => {
  test('finds the line of each element', () => {
    const text = '[\n  {"a": "x, ] { y"},\n  {\n    "b": [1,\n 2]\n  }, 3,\n  "s\\"]"\n]';
    assert.deepEqual(arrayElementLines(text), [2, 3, 6, 7]);
  });

  test('one-line array', () => {
    assert.deepEqual(arrayElementLines('[{"a":1},{"b":2}]'), [1, 1]);
    assert.deepEqual(arrayElementLines('[]'), []);
  });
});

describe('readVqaRad lines', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await writeFixture();
  });
  after(async () => {
    await fixture.remove();
  });

  test('image line is its first record in the file', async () => {
    const images = await readVqaRad(resolveDataRoot(fixture.root, '/configs', {}));
    const lines = (await readFile(path.join(fixture.root, FIXTURE_METADATA_FILE), 'utf8')).split('\n');
    for (const image of images) {
      const firstMention = lines.findIndex((line) => line.includes(`"image_name": "${image.name}"`)) + 1;
      // writeFixture writes each record over several lines, with image_name second, after qid.
      assert.equal(image.line, firstMention - 2, image.name);
    }
  });
});
