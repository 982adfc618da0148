import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { finalTensors, historyWithoutTimes, onlyRunFolder, readJson, smokeConfig, tandem, TIMED_FILES } from './helpers.ts';

/** List every file under `dir` as a path relative to it, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const relative = path.join(prefix, name);
      return statSync(path.join(dir, name)).isDirectory() ? listFiles(path.join(dir, name), relative) : [relative];
    })
    .sort();
}

describe('determinism', () => {
  const runs: string[] = [];

  before(() => {
    // Two runs of one config, each in its own results folder.
    for (let i = 0; i < 2; i++) {
      const { file, results } = smokeConfig();
      const result = tandem(['run', file]);
      assert.equal(result.status, 0, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);
      runs.push(onlyRunFolder(results)!);
    }
  });

  test('two runs give bitwise identical weights', () => {
    const [first, second] = runs.map(finalTensors);
    assert.ok(first.length > 1000, 'the checkpoint holds the weights');
    assert.ok(first.equals(second), 'tensors.safetensors differs between the runs');
  });

  test('two runs give identical metrics and result files', () => {
    const files = listFiles(runs[0]);
    assert.deepEqual(listFiles(runs[1]), files);
    // config.yaml names each run's own output.root, and checkpoint.json stores the history with its times.
    const compared = files.filter((file) => !TIMED_FILES.includes(file) && file !== 'config.yaml' && !file.endsWith('checkpoint.json'));
    assert.ok(compared.includes('metrics.json'), compared.join(', '));
    assert.ok(compared.includes('predictions.csv'), compared.join(', '));
    for (const file of compared) {
      const [a, b] = runs.map((run) => readFileSync(path.join(run, file)));
      assert.ok(a.equals(b), `${file} differs between the runs`);
    }
    assert.deepEqual(historyWithoutTimes(runs[1]), historyWithoutTimes(runs[0]));
    const [first, second] = runs.map((run) => parse(readFileSync(path.join(run, 'config.yaml'), 'utf8')));
    assert.deepEqual({ ...second, output: null }, { ...first, output: null });
  });

  test('run.json records the provenance', () => {
    const record = readJson(path.join(runs[0], 'run.json'));
    const other = readJson(path.join(runs[1], 'run.json'));
    assert.match(record.configSha256, /^[0-9a-f]{64}$/);
    assert.equal(record.configSha256, other.configSha256, 'the same settings in another folder give the same hash');
    assert.match(record.data.fingerprint.sha256, /^[0-9a-f]{64}$/);
    assert.ok(record.data.fingerprint.images >= record.data.images, 'every image of the data set is fingerprinted');
    assert.match(record.source.packageLockSha256, /^[0-9a-f]{64}$/);
    assert.equal(typeof record.source.dirty, 'boolean');
    assert.equal(record.backend.name, 'wasm');
    assert.equal(record.backend.deterministic, true);
    assert.equal(record.backend.blas.setting, 'auto');
    assert.equal(typeof record.backend.blas.active, 'boolean');
    if (record.backend.blas.active) {
      assert.match(record.backend.blas.library, /openblas/i);
      assert.ok(record.backend.blas.threads >= 1, `OpenBLAS threads: ${record.backend.blas.threads}`);
    } else {
      assert.equal(typeof record.backend.blas.reason, 'string');
      assert.equal(record.backend.blas.threads, 0);
    }
    assert.equal(record.versions.tfjs, '4.22.0');
    assert.equal(record.host.node, process.version);
    assert.ok(record.host.cpus >= 1);
    assert.deepEqual(record.command.slice(0, 2), ['tandem', 'run']);
    assert.deepEqual(record.checkpoint, { epoch: 2, path: path.join('checkpoints', 'epoch-0002') });
    assert.equal(record.status, 'complete');
  });
});
