import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RUN_FILES } from '../../src/artifacts/files.ts';
import { trialFolder, writeManifest } from '../../src/sweep/manifest.ts';
import { prepareSweep, SweepChangedError } from '../../src/sweep/resume.ts';
import { plan, temporaryFolder, type TemporaryFolder } from './helpers.ts';

/** Makes a run folder of the trial `id` under the sweep folder, finished when `finished` is set; returns it relative to the sweep folder. */
function makeRun(sweepDir: string, id: string, stamp: string, finished: boolean): string {
  const runDir = path.join(trialFolder(id), 'demo', stamp);
  mkdirSync(path.join(sweepDir, runDir), { recursive: true });
  if (finished) writeFileSync(path.join(sweepDir, runDir, RUN_FILES.complete.name), '');
  return runDir;
}

describe('prepareSweep', () => {
  let folder: TemporaryFolder;
  before(() => {
    folder = temporaryFolder();
  });
  after(() => folder.remove());

  const sweepConfig = (epochs: number) => `name: demo\noutput:\n  root: out\ntrain:\n  epochs: ${epochs}\nsweep:\n  grid:\n    seed: [1, 10]\n  trials: 3\n`;

  test('new sweep runs every trial', async () => {
    const file = folder.write('new/sweep.yaml', sweepConfig(1));
    const prepared = prepareSweep(await plan(file));
    assert.equal(prepared.resumed, false);
    assert.equal(prepared.toRun.length, 6);
    assert.ok(prepared.manifest.trials.every((trial) => trial.status === 'pending' && trial.attempts === 0));
    assert.deepEqual(prepared.manifest.trials[4].values, { seed: 10 });
    assert.equal(prepared.manifest.trials[4].log, path.join('trials', prepared.manifest.trials[4].id, 'trial.log'));
  });

  test('resume keeps, reruns and recovers trials', async () => {
    const file = folder.write('resume/sweep.yaml', sweepConfig(1));
    const planned = await plan(file);
    const { manifest } = prepareSweep(planned);
    const [done, finishedWhileDead, killed, failed, doneButGone] = manifest.trials;
    done.status = 'done';
    done.runDir = makeRun(planned.sweepDir, done.id, '20240101-000000', true);
    finishedWhileDead.status = 'running';
    makeRun(planned.sweepDir, finishedWhileDead.id, '20240101-000001', true);
    killed.status = 'running';
    killed.runDir = makeRun(planned.sweepDir, killed.id, '20240101-000002', false);
    failed.status = 'failed';
    failed.reason = 'out of memory';
    doneButGone.status = 'done';
    doneButGone.runDir = path.join(trialFolder(doneButGone.id), 'demo', 'gone');
    writeManifest(planned.sweepDir, manifest);

    const resumed = prepareSweep(await plan(file));
    assert.equal(resumed.resumed, true);
    const statuses = resumed.manifest.trials.map((trial) => trial.status);
    assert.deepEqual(statuses, ['done', 'done', 'pending', 'failed', 'pending', 'pending']);
    assert.equal(resumed.manifest.trials[1].runDir, path.join(trialFolder(finishedWhileDead.id), 'demo', '20240101-000001'));
    assert.match(resumed.manifest.trials[2].reason!, /interrupted/);
    assert.equal(resumed.manifest.trials[3].reason, 'out of memory');
    assert.deepEqual(
      resumed.toRun.map((trial) => trial.slot),
      [2, 4, 5],
    );
    assert.match(resumed.notes[0], /2 of 6 trials done, 1 failed or diverged \(kept; --retry-failed runs them again\), 3 to run/);

    const retried = prepareSweep(await plan(file), { retryFailed: true });
    assert.equal(retried.manifest.trials[3].status, 'pending');
    assert.match(retried.manifest.trials[3].reason!, /failed before: out of memory/);
  });

  test('changed spec is refused and named', async () => {
    const file = folder.write('changed/sweep.yaml', sweepConfig(1));
    const first = await plan(file);
    writeManifest(first.sweepDir, prepareSweep(first).manifest);

    folder.write('changed/sweep.yaml', sweepConfig(2));
    const second = await plan(file, { overrides: ['sweep.trials=2'] });
    assert.throws(
      () => prepareSweep(second),
      (error: unknown) => {
        assert.ok(error instanceof SweepChangedError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /^ {2}sweep\.trials: 3 -> 2$/m);
        assert.match(error.message, /^ {2}train\.epochs: 1 -> 2$/m);
        assert.match(error.message, /--restart/);
        return true;
      },
    );
    const restarted = prepareSweep(second, { restart: true });
    assert.equal(restarted.resumed, false);
    assert.notEqual(second.sweepDir, first.sweepDir);
  });

  test('changed data is refused unless restarted', async () => {
    const file = folder.write('data/sweep.yaml', sweepConfig(1));
    const before = await plan(file, { fingerprint: async () => 'a'.repeat(64) });
    const { manifest } = prepareSweep(before);
    manifest.trials[0].status = 'done';
    manifest.trials[0].runDir = makeRun(before.sweepDir, manifest.trials[0].id, '20240101-000000', true);
    writeManifest(before.sweepDir, manifest);

    const afterChange = await plan(file, { fingerprint: async () => 'b'.repeat(64) });
    assert.equal(afterChange.sweepDir, before.sweepDir);
    assert.throws(() => prepareSweep(afterChange), /The data set changed since the sweep .* started: its fingerprint is now bbbbbbbbbbbb \(was aaaaaaaaaaaa\)/);
    const restarted = prepareSweep(afterChange, { restart: true });
    assert.equal(restarted.toRun.length, 6, 'every trial id changed with the data');
  });
});
