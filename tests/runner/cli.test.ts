import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realDataRoot = path.resolve(projectRoot, '../shared/data/vqa-rad');
const metadataName = 'VQA_RAD Dataset Public.json';

/** Run the real `tandem` command; the environment never carries a data-root override. */
function tandem(args: string[], env: Record<string, string> = {}) {
  const environment: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...env };
  if (!('TANDEM_DATA_ROOT' in env)) delete environment.TANDEM_DATA_ROOT;
  return spawnSync(process.execPath, [path.join(projectRoot, 'runner/tandem.js'), ...args], {
    cwd: projectRoot,
    env: environment,
    encoding: 'utf8',
    timeout: 5 * 60 * 1000,
  });
}

/** Write configs/smoke.yaml, changed by `edit`, into a new temporary folder; returns its path and folder. */
function smokeConfig(edit: (config: Record<string, any>) => void = () => {}): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-cli-'));
  const config = parse(readFileSync(path.join(projectRoot, 'configs/smoke.yaml'), 'utf8'));
  config.data = { ...config.data, root: realDataRoot };
  config.output = { root: path.join(dir, 'results') };
  edit(config);
  const file = path.join(dir, 'smoke.yaml');
  writeFileSync(file, stringify(config));
  return { file, dir };
}

const noStackTrace = (text: string) => !/^\s+at .+:\d+:\d+\)?$/m.test(text);

describe('tandem run', () => {
  test('trains smoke.yaml on real VQA-RAD images and writes the run folder', () => {
    const { file, dir } = smokeConfig();
    const result = tandem(['run', file]);
    assert.equal(result.status, 0, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);

    const config = parse(readFileSync(file, 'utf8'));
    const epochs: number = config.train.epochs;
    const epochLines = result.stdout.split('\n').filter((line) => /^epoch\s+\d+\/\d+ /.test(line));
    assert.equal(epochLines.length, epochs, result.stdout);
    assert.doesNotMatch(result.stdout, /\u001b\[/, 'plain output has no escape codes');

    const experimentDir = path.join(dir, 'results', config.name);
    const runs = readdirSync(experimentDir);
    assert.equal(runs.length, 1);
    const runDir = path.join(experimentDir, runs[0]);
    const files = readdirSync(runDir).sort();
    for (const name of [
      'config.yaml',
      'confusion-with-text.csv',
      'confusion-with-text.json',
      'confusion-without-text.csv',
      'confusion-without-text.json',
      'events.ndjson',
      'history.csv',
      'history.json',
      'metrics.json',
      'predictions.csv',
      'run.json',
      'split.csv',
    ]) {
      assert.ok(files.includes(name), `${name} missing from ${files.join(', ')}`);
    }
    assert.ok(!files.some((name) => name.endsWith('.tmp')), 'no temporary file is left behind');

    const resolved = parse(readFileSync(path.join(runDir, 'config.yaml'), 'utf8'));
    assert.equal(resolved.train.learningRateDecay, 0.9, 'defaults are written into the resolved config');
    assert.equal(resolved.data.maxImages, config.data.maxImages);

    const run = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(run.status, 'complete');
    assert.equal(run.seed, resolved.seed);
    assert.equal(run.backend.name, 'wasm');
    assert.equal(run.versions.tfjs, '4.22.0');
    assert.equal(run.data.samples.train + run.data.samples.validation + run.data.samples.test, config.data.maxImages);
    assert.ok(Date.parse(run.endTime) >= Date.parse(run.startTime));

    const history = JSON.parse(readFileSync(path.join(runDir, 'history.json'), 'utf8'));
    assert.equal(history.length, epochs);
    for (const record of history) assert.ok(Number.isFinite(record.trainLoss) && record.seconds > 0);

    const metrics = JSON.parse(readFileSync(path.join(runDir, 'metrics.json'), 'utf8'));
    const testCount = run.data.samples.test;
    assert.equal(metrics.test.samples, testCount);
    assert.deepEqual(metrics.classes, ['ABD', 'CHEST', 'HEAD']);
    for (const key of ['accuracyWithoutText', 'accuracyWithText']) {
      assert.ok(metrics.test[key] >= 0 && metrics.test[key] <= 1, `${key} = ${metrics.test[key]}`);
    }
    const confusion = JSON.parse(readFileSync(path.join(runDir, 'confusion-without-text.json'), 'utf8'));
    const total = confusion.counts.flat().reduce((a: number, b: number) => a + b, 0);
    assert.equal(total, testCount);
    const diagonal = confusion.counts.reduce((sum: number, row: number[], i: number) => sum + row[i], 0);
    assert.ok(Math.abs(diagonal / total - metrics.test.accuracyWithoutText) < 1e-9, 'accuracy matches the matrix');
    const csv = readFileSync(path.join(runDir, 'confusion-with-text.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'true \\ predicted,ABD,CHEST,HEAD');
    assert.equal(csv.length, 4);

    const predictions = readFileSync(path.join(runDir, 'predictions.csv'), 'utf8').trim().split('\n');
    assert.equal(predictions.length, testCount + 1);

    const events = readFileSync(path.join(runDir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events[0].type, 'run-start');
    assert.equal(events[events.length - 1].type, 'run-end');
  });

  test('a wrong config value exits 2 with its place and no stack trace', () => {
    const { file } = smokeConfig((config) => {
      config.model.textDropRate = 1.5;
    });
    const result = tandem(['run', file]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
    assert.match(result.stderr, /model\.textDropRate/);
    assert.ok(noStackTrace(result.stderr), result.stderr);
  });

  test('a missing data root says where to get the data', () => {
    const { file } = smokeConfig();
    const missing = path.join(os.tmpdir(), 'tandem-no-such-data-root');
    const result = tandem(['run', file], { TANDEM_DATA_ROOT: missing });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(missing));
    assert.match(result.stderr, /TANDEM_DATA_ROOT/);
    assert.match(result.stderr, /osf\.io\/89kps/);
    assert.ok(noStackTrace(result.stderr), result.stderr);
  });

  test('an unreadable image is named with a fix', () => {
    // A copy of the first 30 images' records and files, with one image's bytes replaced by garbage.
    const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'tandem-data-'));
    const records = JSON.parse(readFileSync(path.join(realDataRoot, metadataName), 'utf8'));
    const names = [...new Set(records.map((r: { image_name: string }) => r.image_name))].slice(0, 30) as string[];
    writeFileSync(path.join(dataRoot, metadataName), JSON.stringify(records.filter((r: any) => names.includes(r.image_name))));
    mkdirSync(path.join(dataRoot, 'images'));
    for (const name of names) copyFileSync(path.join(realDataRoot, 'images', name), path.join(dataRoot, 'images', name));
    const corrupt = path.join(dataRoot, 'images', names[3]);
    writeFileSync(corrupt, 'this is not a JPEG');

    const { file } = smokeConfig((config) => {
      config.data.root = dataRoot;
      config.data.maxImages = null;
    });
    const result = tandem(['run', file]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(names[3].replace('.', '\\.')));
    assert.ok(noStackTrace(result.stderr), result.stderr);
  });

  test('an unknown command exits 2 and names the known ones', () => {
    const result = tandem(['train', 'configs/smoke.yaml']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown command "train"\. Known commands: run(, [a-z]+)*\./);
  });

  test('unknown option and missing option value', () => {
    const unknown = tandem(['run', '--epochs', '3', 'configs/smoke.yaml']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^tandem run has no option --epochs\. Run `tandem run --help` for its options\.$/m);
    assert.doesNotMatch(unknown.stderr, /place it at the end of the command/);

    const missing = tandem(['check', 'configs/smoke.yaml', '--baseline']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^Option --baseline needs a value: write --baseline <value>\./m);
    assert.match(missing.stderr, /^Usage: tandem check /m);
  });

  test('data root from --set', () => {
    const missing = path.join(os.tmpdir(), 'tandem-no-such-data-root');
    const result = tandem(['run', 'configs/smoke.yaml', '--set', `data.root=${missing}`]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`Data folder ${missing} was not found \\(set by data\\.root \\("${missing}"\\)\\)`));
    assert.doesNotMatch(result.stderr, /set by [^)]*in the config/);
  });

  test('--help lists the run folder files and the exit codes', () => {
    const result = tandem(['--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /metrics\.json/);
    assert.match(result.stdout, /Exit codes:/);
  });
});
