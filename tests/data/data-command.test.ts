import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { UsageError } from '../../runner/command.ts';
import { dataCommand, formatCheckReport } from '../../runner/commands/data.ts';
import { loadConfig } from '../../src/config/load.ts';
import { checkData } from '../../src/data/index.ts';
import {
  createDataFolder,
  standardRows,
  toCsvText,
  writeRowImages,
  type DataFolder,
} from '../fixtures/manifest-fixture.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Run the real `tandem` command in `cwd`. */
function tandem(args: string[], cwd: string) {
  const environment: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete environment.TANDEM_DATA_ROOT;
  return spawnSync(process.execPath, [path.join(projectRoot, 'runner/tandem.js'), ...args], {
    cwd,
    env: environment,
    encoding: 'utf8',
    timeout: 3 * 60 * 1000,
  });
}

const HEADER = ['image', 'label', 'patient', 'split', 'report'];

/** Return the standard rows as CSV with a split column, after `edit` has changed them. */
function csvText(edit: (rows: string[][]) => void = () => {}): string {
  const rows = standardRows({ splits: true }).map((row) => [row.image, row.label, row.patient, row.split!, row.report as string]);
  edit(rows);
  return toCsvText([HEADER, ...rows]);
}

/** Return the YAML of a config for a tiny, fast run on `manifest`. */
function tinyConfig(manifest: string): string {
  return stringify({
    name: 'tiny-manifest',
    backend: 'cpu',
    data: {
      source: 'manifest',
      manifest,
      labels: ['normal', 'low grade', 'high grade'],
      imageSize: 16,
      resizeTo: 16,
      maxSentences: 3,
      maxSentenceTokens: 6,
    },
    model: { backbone: { depth: 10, widenFactor: 1 }, text: { embeddingSize: 8, hiddenSize: 8 }, attention: { size: 8 } },
    train: { epochs: 1, batchSize: 3 },
    output: { root: 'results' },
  });
}

describe('tandem data check', () => {
  let folder: DataFolder;
  before(async () => {
    folder = await createDataFolder();
    await writeRowImages(folder, standardRows());
    await folder.writeText('clean.csv', csvText());
    await folder.writeText(
      'broken.csv',
      csvText((rows) => {
        rows[1][4] = 'First finding.\nSecond finding.';
        rows[2][0] = 'images/absent.png';
        rows[4][2] = 'P-normal-0';
      }),
    );
    await folder.writeText('clean.yaml', tinyConfig('clean.csv'));
    await folder.writeText('broken.yaml', tinyConfig('broken.csv'));
  });
  after(() => folder.remove());

  test('manifest with problems: lines, count, summary, exit 1', () => {
    const result = tandem(['data', 'check', 'broken.csv'], folder.dir);
    assert.equal(result.status, 1, result.stderr);
    const lines = result.stdout.split('\n');
    // Row 2 of the body spans lines 3 and 4, so the rows after it start one line later.
    assert.ok(
      lines.includes(
        'broken.csv:7  patient-in-two-splits  patient "P-normal-0" has images in 2 splits: train (line 2), ' +
          'validation (line 7). All images of a patient must be in one split, or the test set shares patients ' +
          'with training; move them into one split.',
      ),
      result.stdout,
    );
    assert.ok(lines.some((line) => line.startsWith('broken.csv:5  missing-image  image "images/absent.png" was not found')), result.stdout);
    assert.ok(lines.includes('2 errors and 0 warnings in 9 rows of broken.csv.'), result.stdout);
    assert.ok(lines.includes('Summary'), result.stdout);
    assert.match(result.stdout, /split {11}from the manifest: train 3 \(3 patients\), validation 3 \(3 patients\), test 3 \(3 patients\)/);
    assert.match(result.stdout, /image files {5}PNG 8-bit RGB 8/);
  });

  test('missing manifest file', () => {
    const result = tandem(['data', 'check', 'absent.csv'], folder.dir);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, `Manifest file ${path.join(folder.dir, 'absent.csv')} was not found. Check the path.\n`);
  });

  test('report of a clean manifest', async () => {
    const { config, dir } = loadConfig(path.join(folder.dir, 'clean.yaml'));
    const lines = formatCheckReport(await checkData(config, dir), config).map((line) => line.replace(folder.dir + path.sep, ''));
    assert.equal(lines[0], 'No problems in 9 rows of clean.csv.');
    assert.deepEqual(lines.slice(2, 11), [
      'Summary',
      '  images          9',
      '  patients        9',
      '  split           from the manifest: train 3 (3 patients), validation 3 (3 patients), test 3 (3 patients)',
      '  labels          label       images  train  validation  test',
      '                  normal           3      1           1     1',
      '                  low grade        3      1           1     1',
      '                  high grade       3      1           1     1',
      '  reports         9; per image 1',
    ]);
    assert.ok(lines.includes('  sentences       per report 2; none over data.maxSentences (3)'), lines.join('\n'));
    assert.ok(lines.includes('  image files     PNG 8-bit RGB 9'), lines.join('\n'));
  });

  test('unknown subcommand and file type are usage errors', async () => {
    await assert.rejects(dataCommand.run(['fix', 'clean.csv']), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, 'Unknown subcommand "data fix"; the only one is "data check".');
      return true;
    });
    await assert.rejects(dataCommand.run(['check', 'notes.txt']), /"notes\.txt" is neither a config \(\.yaml, \.yml\) nor a manifest/);
    await assert.rejects(dataCommand.run(['check', 'a.csv', '--set', 'seed=1']), /--set needs a config file/);
  });

  test('run stops on data errors before training', () => {
    const result = tandem(['run', 'broken.yaml'], folder.dir);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /^The data set has at least 2 errors, so nothing was trained:$/m);
    assert.match(result.stderr, /broken\.csv:5 {2}missing-image {2}/);
    assert.doesNotMatch(result.stdout, /^epoch/m);
    assert.equal(existsSync(path.join(folder.dir, 'results')), false);
  });

  test('run trains on a clean manifest', () => {
    const result = tandem(['run', 'clean.yaml'], folder.dir);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const runs = readdirSync(path.join(folder.dir, 'results', 'tiny-manifest'));
    assert.equal(runs.length, 1);
  });
});
