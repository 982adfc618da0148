import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { checkData, type DataCheckResult, type DataProblem } from '../../src/data/index.ts';
import { formatSummary } from '../../runner/commands/data.ts';
import { makeExperimentConfig, type ConfigOverrides } from '../fixtures/experiment-config.ts';
import {
  createDataFolder,
  standardRows,
  toCsvText,
  toJsonLines,
  writeRowImages,
  type DataFolder,
  type FixtureRow,
} from '../fixtures/manifest-fixture.ts';

let folder: DataFolder | undefined;
afterEach(async () => {
  await folder?.remove();
  folder = undefined;
});

/** Options of `checkRows`. */
interface CheckOptions {
  /** Image paths of `rows` to leave unwritten. */
  skipImages?: string[];
  /** Settings merged into `data` of the config. */
  data?: ConfigOverrides;
  /** Runs after the images are written, before the check, to break files. */
  prepare?: (folder: DataFolder) => Promise<void>;
}

/** Write `rows` as manifest.jsonl with their images, and check it. */
async function checkRows(rows: readonly (FixtureRow | Record<string, unknown>)[], options: CheckOptions = {}): Promise<DataCheckResult> {
  folder = await createDataFolder();
  await writeRowImages(folder, rows as FixtureRow[], options.skipImages);
  await options.prepare?.(folder);
  const manifest = await folder.writeText('manifest.jsonl', toJsonLines(rows));
  return checkManifest(manifest, options.data);
}

async function checkManifest(manifest: string, data: ConfigOverrides = {}): Promise<DataCheckResult> {
  const config = makeExperimentConfig({ data: { source: 'manifest', manifest, imageSize: 16, resizeTo: 16, ...data } });
  return checkData(config, '/unused');
}

/** Return the only problem with `code`, failing the test when there is none or more than one. */
function onlyProblem(result: DataCheckResult, code: DataProblem['code']): DataProblem {
  const found = result.problems.filter((problem) => problem.code === code);
  assert.equal(found.length, 1, `expected one ${code} problem, got ${JSON.stringify(result.problems, null, 1)}`);
  return found[0];
}

describe('data check on a valid manifest', () => {
  test('no problems and a summary', async () => {
    const result = await checkRows(standardRows({ splits: true }), { data: { labels: ['normal', 'low grade', 'high grade'] } });
    assert.deepEqual(result.problems, []);
    const summary = result.summary;
    assert.equal(summary.images, 9);
    assert.equal(summary.patients, 9);
    assert.equal(summary.split.source, 'manifest');
    assert.deepEqual(summary.split.images, { train: 3, validation: 3, test: 3 });
    assert.deepEqual(
      summary.labels.map((label) => [label.name, label.images, label.bySplit.validation]),
      [
        ['normal', 3, 1],
        ['low grade', 3, 1],
        ['high grade', 3, 1],
      ],
    );
    assert.deepEqual(summary.sentencesPerReport, { min: 2, median: 2, max: 2 });
    assert.deepEqual(summary.sentenceTypes, [{ type: '', sentences: 18 }]);
    assert.deepEqual(summary.imageFiles?.kinds, [{ kind: 'PNG 8-bit RGB', images: 9 }]);
  });

  test('seeded split without a split column', async () => {
    const result = await checkRows(standardRows());
    assert.deepEqual(result.problems, []);
    assert.equal(result.summary.split.source, 'seeded');
    assert.deepEqual(result.summary.split.images, { train: 3, validation: 3, test: 3 });
  });
});

describe('data check problems', () => {
  test('missing image', async () => {
    const rows = standardRows();
    const problem = onlyProblem(await checkRows(rows, { skipImages: [rows[1].image] }), 'missing-image');
    assert.equal(problem.line, 2);
    assert.equal(problem.severity, 'error');
    assert.match(problem.message, /^image "images\/normal-1\.png" was not found \(looked for \/.+\/images\/normal-1\.png\)\./);
    assert.match(problem.message, /relative to the manifest's folder/);
  });

  test('unreadable image', async () => {
    const rows = standardRows();
    const problem = onlyProblem(
      await checkRows(rows, { prepare: (data) => writeFile(path.join(data.dir, rows[3].image), 'not an image at all') }),
      'unreadable-image',
    );
    assert.equal(problem.line, 4);
    assert.match(problem.message, /^image "images\/low-grade-0\.png" could not be decoded: its first bytes match no JPEG, PNG or TIFF signature\./);
  });

  test('truncated PNG is unreadable', async () => {
    const rows = standardRows();
    const truncate = async (data: DataFolder) => {
      const file = path.join(data.dir, rows[4].image);
      const { readFile } = await import('node:fs/promises');
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, 40));
    };
    const problem = onlyProblem(await checkRows(rows, { prepare: truncate }), 'unreadable-image');
    assert.equal(problem.line, 5);
    assert.match(problem.message, /could not be decoded \(sharp: /);
  });

  test('unsupported format', async () => {
    const rows = standardRows();
    rows[6].image = 'images/scan.gif';
    const result = await checkRows(rows, { prepare: (data) => data.writeImage('images/scan.gif', 'gif').then(() => undefined) });
    const problem = onlyProblem(result, 'unsupported-format');
    assert.equal(problem.line, 7);
    assert.match(problem.message, /^image "images\/scan\.gif" is a GIF image; tandem reads JPEG, PNG, TIFF\. Convert it to PNG/);
  });

  test('format comes from content, not name', async () => {
    const rows = standardRows();
    const result = await checkRows(rows, {
      prepare: (data) => data.writeImage(rows[8].image, 'webp').then(() => undefined),
    });
    const problem = onlyProblem(result, 'unsupported-format');
    assert.equal(problem.line, 9);
    assert.match(problem.message, /is a WebP image/);
  });

  test('empty report', async () => {
    const rows = standardRows();
    rows[1].report = '  ';
    const problem = onlyProblem(await checkRows(rows), 'empty-report');
    assert.equal(problem.line, 2);
    assert.match(problem.message, /^report is empty: it has no sentence with a letter or digit\./);
  });

  test('empty report in a list of reports', async () => {
    const rows: FixtureRow[] = standardRows();
    delete rows[2].report;
    rows[2].reports = ['Cells are crowded.', ['', '.']];
    const problem = onlyProblem(await checkRows(rows), 'empty-report');
    assert.equal(problem.line, 3);
    assert.match(problem.message, /^report 2 of "reports" is empty/);
  });

  test('unknown label', async () => {
    const rows = standardRows();
    rows[5].label = 'low grde';
    const result = await checkRows(rows, { data: { labels: ['normal', 'low grade', 'high grade'] } });
    const problem = onlyProblem(result, 'unknown-label');
    assert.equal(problem.line, 6);
    assert.equal(problem.message, 'label "low grde" is not in data.labels (normal, low grade, high grade); did you mean "low grade"?');

    const config = makeExperimentConfig({ data: { labels: ['normal', 'low grade', 'high grade'] } });
    const table = formatSummary(result.summary, config).filter((line) => / (low grde|low grade) /.test(line));
    assert.equal(table.length, 2, table.join('\n'));
    assert.match(table.find((line) => line.includes('low grde'))!, /\(not in data\.labels\)$/);
    assert.doesNotMatch(table.find((line) => line.includes('low grade'))!, /not in data\.labels/);
  });

  test('empty splits are errors', async () => {
    const manifestSplit = await checkRows(standardRows({ splits: true }).map((row) => ({ ...row, split: 'train' })));
    const problem = onlyProblem(manifestSplit, 'empty-split');
    assert.equal(problem.severity, 'error');
    assert.equal(problem.line, 0);
    assert.match(problem.message, /^the validation and test splits have no image \(train 9, validation 0, test 0\)\. Assign some rows/);

    // One patient per label: the seeded split is stratified by label, so each patient goes to train.
    const onePerLabel = standardRows().filter((row, index, rows) => rows.findIndex((other) => other.label === row.label) === index);
    const seeded = await checkRows(onePerLabel);
    assert.match(onlyProblem(seeded, 'empty-split').message, /of the 3 patients .* raise those fractions/);
    assert.deepEqual((await checkRows(standardRows())).problems.filter((found) => found.code === 'empty-split'), []);
  });

  test('label of data.labels without images', async () => {
    const result = await checkRows(standardRows(), { data: { labels: ['normal', 'low grade', 'high grade', 'insufficient'] } });
    const problem = onlyProblem(result, 'label-without-images');
    assert.equal(problem.line, 0);
    assert.equal(problem.severity, 'warning');
    assert.match(problem.message, /label "insufficient" of data\.labels has no image/);
  });

  test('labels differing in case', async () => {
    const rows = standardRows();
    rows[7].label = 'High Grade';
    const problem = onlyProblem(await checkRows(rows), 'similar-labels');
    assert.equal(problem.line, 8);
    assert.equal(problem.severity, 'warning');
    assert.match(problem.message, /^label "High Grade" \(1 image, first at this line\) differs from "high grade" \(2 images\)/);
    assert.match(problem.message, /only in case or spacing/);
  });

  test('seeded split warns about a label with 2 patients', async () => {
    const rows = standardRows();
    rows[8].patient = rows[7].patient;
    const problem = onlyProblem(await checkRows(rows), 'label-missing-from-split');
    assert.equal(problem.line, 7);
    assert.equal(problem.severity, 'warning');
    assert.match(problem.message, /of the seeded patient split \(train \d, validation \d, test \d\), because it has only 2 patients;/);
  });

  test('label missing from a split', async () => {
    const rows = standardRows({ splits: true });
    rows[7].split = 'train';
    const problem = onlyProblem(await checkRows(rows), 'label-missing-from-split');
    assert.equal(problem.line, 7);
    assert.match(
      problem.message,
      /^label "high grade" \(first at this line\) has no image in the validation split \(train 2, validation 0, test 1\)\./,
    );
  });

  test('patient in two splits', async () => {
    const rows = standardRows({ splits: true });
    rows.push({ image: 'images/normal-extra.png', label: 'normal', patient: 'P-normal-0', split: 'test', report: 'Nuclei look normal.' });
    const problem = onlyProblem(await checkRows(rows), 'patient-in-two-splits');
    assert.equal(problem.line, 10);
    assert.match(problem.message, /^patient "P-normal-0" has images in 2 splits: train \(line 1\), test \(line 10\)\./);
  });

  test('duplicate id', async () => {
    const rows = standardRows();
    rows.push({ ...rows[3] });
    const problem = onlyProblem(await checkRows(rows), 'duplicate-id');
    assert.equal(problem.line, 10);
    assert.match(problem.message, /^id "images\/low-grade-0\.png" is already used at line 4\./);
  });

  test('duplicate explicit id', async () => {
    const rows = standardRows();
    rows[0].id = 'case-7';
    rows[4].id = 'case-7';
    const problem = onlyProblem(await checkRows(rows), 'duplicate-id');
    assert.equal(problem.line, 5);
    assert.match(problem.message, /^id "case-7" is already used at line 1\./);
  });

  test('same image under two ids', async () => {
    const rows = standardRows();
    rows.push({ ...rows[0], id: 'another-id' });
    const problem = onlyProblem(await checkRows(rows), 'duplicate-image');
    assert.equal(problem.line, 10);
    assert.match(problem.message, /^image "images\/normal-0\.png" is already listed at line 1/);
  });

  test('missing required field', async () => {
    const rows = standardRows() as unknown as Record<string, unknown>[];
    delete rows[2].patient;
    const result = await checkRows(rows);
    const problem = onlyProblem(result, 'missing-field');
    assert.equal(problem.line, 3);
    assert.match(problem.message, /^the row has no patient;/);
    assert.equal(result.summary.images, 8);
    assert.equal(result.summary.rows, 9);
  });

  test('invalid split value', async () => {
    const rows = standardRows({ splits: true });
    rows[4].split = 'tset';
    const problem = onlyProblem(await checkRows(rows), 'invalid-split');
    assert.equal(problem.line, 5);
    assert.equal(problem.message, 'split "tset" is not one of train, validation, test (did you mean "test"?).');
  });

  test('split on some rows only', async () => {
    const rows = standardRows({ splits: true });
    delete rows[5].split;
    const problem = onlyProblem(await checkRows(rows), 'invalid-split');
    assert.equal(problem.line, 6);
    assert.match(problem.message, /^the row has no valid split, but other rows give one \(the first at line 1\)/);
  });

  test('invalid JSON line', async () => {
    folder = await createDataFolder();
    const rows = standardRows();
    await writeRowImages(folder, rows);
    const lines = toJsonLines(rows).split('\n');
    lines[3] = '{"image": "images/low-grade-0.png", "label": ';
    const manifest = await folder.writeText('manifest.jsonl', lines.join('\n'));
    const problem = onlyProblem(await checkManifest(manifest), 'invalid-row');
    assert.equal(problem.line, 4);
    assert.match(problem.message, /^this line is not valid JSON \(/);
  });

  test('manifest without rows', async () => {
    folder = await createDataFolder();
    for (const [name, text] of [['empty.jsonl', '\n\n'], ['header-only.csv', 'image,label,patient,report\n']]) {
      const result = await checkManifest(await folder.writeText(name, text));
      const problem = onlyProblem(result, 'invalid-row');
      assert.equal(problem.line, 1, name);
      assert.match(problem.message, /^the manifest has no rows\./, name);
    }
  });

  test('unknown field is a warning', async () => {
    const rows = standardRows() as unknown as Record<string, unknown>[];
    rows[3].lable = 'normal';
    const problem = onlyProblem(await checkRows(rows), 'unknown-field');
    assert.equal(problem.line, 4);
    assert.equal(problem.severity, 'warning');
    assert.match(problem.message, /^field "lable" is not a manifest field and is ignored \(did you mean "label"\?\)/);
  });

  test('more sentences than data.sentenceTypes', async () => {
    const rows = standardRows();
    rows[0].report = 'Nuclei are small. Cells are crowded. Mitoses are rare.';
    const result = await checkRows(rows, { data: { sentenceTypes: ['nuclei', 'crowding'] } });
    const problem = onlyProblem(result, 'sentence-types');
    assert.equal(problem.line, 1);
    assert.match(problem.message, /^report has 3 sentences but data\.sentenceTypes names 2 \(nuclei, crowding\)/);
    assert.match(problem.message, /3 "Mitoses are rare\."/);
  });

  test('every problem is listed at once', async () => {
    const rows = standardRows();
    rows[1].report = '';
    rows[5].label = 'grade x';
    const result = await checkRows(rows, { skipImages: [rows[7].image], data: { labels: ['normal', 'low grade', 'high grade'] } });
    assert.deepEqual(
      result.problems.map((problem) => [problem.line, problem.code, problem.severity]),
      [
        [2, 'empty-report', 'error'],
        // With row 6 relabelled, "low grade" has 2 patients and "grade x" 1, too few for the seeded split.
        [4, 'label-missing-from-split', 'warning'],
        [6, 'unknown-label', 'error'],
        [6, 'label-missing-from-split', 'warning'],
        [8, 'missing-image', 'error'],
      ],
    );
  });
});

describe('data check on CSV', () => {
  const header = ['image', 'label', 'patient', 'report'];
  const csvRows = () => standardRows().map((row) => [row.image, row.label, row.patient, row.report as string]);

  async function checkCsv(rows: string[][], options: { skipImages?: string[]; name?: string; text?: string } = {}) {
    folder = await createDataFolder();
    const images = rows.slice(1).map((row) => ({ image: row[0] }) as FixtureRow);
    await writeRowImages(folder, images.filter((row) => row.image?.endsWith('.png')), options.skipImages);
    const manifest = await folder.writeText(options.name ?? 'manifest.csv', options.text ?? toCsvText(rows));
    return checkManifest(manifest);
  }

  test('line numbers count quoted line breaks', async () => {
    const rows = [header, ...csvRows()];
    rows[1][3] = 'Nuclei look normal.\nCells are crowded.\nPolarity is kept.';
    const result = await checkCsv(rows, { skipImages: [rows[2][0]] });
    const problem = onlyProblem(result, 'missing-image');
    assert.equal(problem.line, 5);
    assert.deepEqual(result.summary.sentencesPerReport, { min: 2, median: 2, max: 3 });
  });

  test('empty report cell', async () => {
    const rows = [header, ...csvRows()];
    rows[3][3] = '';
    const problem = onlyProblem(await checkCsv(rows), 'empty-report');
    assert.equal(problem.line, 4);
    assert.match(problem.message, /^the row has no report: every report cell is empty\./);
  });

  test('several report columns', async () => {
    const secondReport = (row: string[]) => [...row, row[1] === 'normal' ? '' : 'A second report.'];
    const rows = [['image', 'label', 'patient', 'report_1', 'report_2'], ...csvRows().map(secondReport)];
    const result = await checkCsv(rows);
    assert.deepEqual(result.problems, []);
    assert.equal(result.summary.reports.total, 15);
    assert.deepEqual(result.summary.reports.perImage, { min: 1, median: 2, max: 2 });
  });

  test('missing column with suggestion', async () => {
    const rows = [['image', 'label', 'patient_id', 'report'], ...csvRows()];
    const result = await checkCsv(rows);
    const problem = onlyProblem(result, 'missing-field');
    assert.equal(problem.line, 1);
    assert.match(problem.message, /^the header has no "patient" column \(did you mean "patient_id"\?\)/);
    assert.equal(result.summary.images, 0);
  });

  test('row with a wrong field count', async () => {
    const rows = [header, ...csvRows()];
    rows[2] = [...rows[2], 'extra'];
    const problem = onlyProblem(await checkCsv(rows), 'invalid-row');
    assert.equal(problem.line, 3);
    assert.match(problem.message, /^the row has 5 fields but the header has 4 columns/);
  });

  test('semicolon-separated export', async () => {
    const rows = [header, ...csvRows()];
    const result = await checkCsv(rows, { text: toCsvText(rows, ';') });
    assert.deepEqual(result.problems, []);
    assert.equal(result.summary.images, 9);
  });

  test('tab-separated file', async () => {
    const rows = [header, ...csvRows()];
    const result = await checkCsv(rows, { name: 'manifest.tsv', text: toCsvText(rows, '\t') });
    assert.deepEqual(result.problems, []);
  });
});
