import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { prepareResume } from '../../src/reproduce/resume.ts';
import {
  finalTensors,
  historyWithoutTimes,
  onlyRunFolder,
  readEvents,
  readJson,
  smokeConfig,
  startTandem,
  tandem,
  temporaryFolder,
  waitFor,
} from './helpers.ts';

/** Long enough that the test always kills the paused run first. */
const PAUSE_MILLISECONDS = '600000';

/** Assert that `runDir` ended with the same numbers as the uninterrupted `reference`. */
function assertSameResult(runDir: string, reference: string): void {
  for (const file of ['metrics.json', 'predictions.csv', 'split.csv']) {
    const [a, b] = [runDir, reference].map((dir) => readFileSync(path.join(dir, file), 'utf8'));
    assert.equal(a, b, `${file} differs from the uninterrupted run`);
  }
  assert.deepEqual(historyWithoutTimes(runDir), historyWithoutTimes(reference));
  assert.ok(finalTensors(runDir).equals(finalTensors(reference)), 'the final weights differ from the uninterrupted run');
}

function checkpointFolders(runDir: string): string[] {
  return readdirSync(path.join(runDir, 'checkpoints')).sort();
}

describe('resume', () => {
  let reference = '';

  before(() => {
    const { file, results } = smokeConfig();
    const result = tandem(['run', file]);
    assert.equal(result.status, 0, `exit ${result.status}\n${result.stderr}`);
    reference = onlyRunFolder(results)!;
  });

  test('SIGKILL during an epoch, then resume, gives the uninterrupted result', async () => {
    const { file, results } = smokeConfig();
    const run = startTandem(['run', file], { TANDEM_TEST_PAUSE_AFTER_STEP: `2:1:${PAUSE_MILLISECONDS}` });
    let runDir = '';
    await waitFor('the first step of epoch 2', () => {
      runDir = onlyRunFolder(results) ?? '';
      return runDir !== '' && readEvents(runDir).some((e) => e.type === 'batch-end' && e.epoch === 2 && e.batch === 1);
    });
    run.child.kill('SIGKILL');
    assert.equal(await run.exited, 'SIGKILL');

    assert.equal(readJson(path.join(runDir, 'run.json')).status, 'running');
    assert.ok(!existsSync(path.join(runDir, 'COMPLETE')));
    assert.ok(!existsSync(path.join(runDir, 'metrics.json')));
    assert.deepEqual(checkpointFolders(runDir), ['epoch-0001']);

    const resumed = tandem(['run', '--resume', runDir]);
    assert.equal(resumed.status, 0, `exit ${resumed.status}\n${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stderr, /Resuming .* after epoch 1 of 2\./);
    assertSameResult(runDir, reference);

    const record = readJson(path.join(runDir, 'run.json'));
    assert.equal(record.status, 'complete');
    assert.equal(record.resumes.length, 1);
    assert.equal(record.resumes[0].fromEpoch, 1);
    assert.deepEqual(record.command.slice(0, 2), ['tandem', 'run'], 'the original command is kept');
    assert.ok(existsSync(path.join(runDir, 'COMPLETE')));
    assert.deepEqual(checkpointFolders(runDir), ['epoch-0002']);
  });

  test('SIGKILL while a checkpoint is written, then resume, gives the uninterrupted result', async () => {
    const { file, results } = smokeConfig();
    const run = startTandem(['run', file], { TANDEM_TEST_PAUSE_IN_CHECKPOINT: `2:${PAUSE_MILLISECONDS}` });
    let temporary = '';
    await waitFor("epoch 2's checkpoint in its temporary folder", () => {
      const runDir = onlyRunFolder(results);
      if (!runDir || !existsSync(path.join(runDir, 'checkpoints'))) return false;
      const name = readdirSync(path.join(runDir, 'checkpoints')).find((entry) => entry.startsWith('.epoch-0002.tmp-'));
      temporary = name ? path.join(runDir, 'checkpoints', name) : '';
      if (!temporary) return false;
      try {
        return readJson(path.join(temporary, 'checkpoint.json')).epoch === 2;
      } catch {
        return false;
      }
    });
    run.child.kill('SIGKILL');
    assert.equal(await run.exited, 'SIGKILL');
    const runDir = onlyRunFolder(results)!;
    assert.deepEqual(checkpointFolders(runDir), [path.basename(temporary), 'epoch-0001']);
    assert.deepEqual(readJson(path.join(runDir, 'run.json')).checkpoint, { epoch: 1, path: path.join('checkpoints', 'epoch-0001') });

    const resumed = tandem(['run', '--resume', runDir]);
    assert.equal(resumed.status, 0, `exit ${resumed.status}\n${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stderr, /after epoch 1 of 2/);
    assertSameResult(runDir, reference);
    assert.deepEqual(checkpointFolders(runDir), ['epoch-0002'], 'the leftover temporary folder is removed');
  });

  test('damaged checkpoint is moved aside', () => {
    const copy = path.join(temporaryFolder('tandem-damaged-'), 'run');
    cpSync(reference, copy, { recursive: true });
    rmSync(path.join(copy, 'COMPLETE'));
    writeFileSync(path.join(copy, 'run.json'), JSON.stringify({ ...readJson(path.join(copy, 'run.json')), status: 'interrupted' }));
    truncateSync(path.join(copy, 'checkpoints', 'epoch-0002', 'tensors.safetensors'), 1000);

    const plan = prepareResume(copy);
    assert.equal(plan.checkpoint, null);
    assert.deepEqual(checkpointFolders(copy), []);
    const damagedFolders = readdirSync(path.join(copy, 'checkpoints-damaged'));
    assert.equal(damagedFolders.length, 1);
    assert.match(damagedFolders[0], /^epoch-0002-\d+$/);
    assert.equal(statSync(path.join(copy, 'checkpoints-damaged', damagedFolders[0], 'tensors.safetensors')).size, 1000, 'the damaged files are kept');
    assert.match(plan.warnings.join('\n'), /Moved the damaged checkpoint .*epoch-0002 to .*checkpoints-damaged/);
  });

  test('resuming a complete run exits 1 and says so', () => {
    const result = tandem(['run', '--resume', reference]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /is already complete, so there is nothing to resume/);
  });

  test('--resume with a config file is a usage error', () => {
    const result = tandem(['run', 'configs/smoke.yaml', '--resume', reference]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--resume takes no config file/);
  });
});
