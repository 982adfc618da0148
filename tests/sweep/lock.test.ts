import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireSweepLock } from '../../src/sweep/lock.ts';
import { temporaryFolder, type TemporaryFolder } from './helpers.ts';

describe('sweep lock', () => {
  let folder: TemporaryFolder;
  before(() => {
    folder = temporaryFolder();
  });
  after(() => folder.remove());

  test('lock holds the process id until released', () => {
    const sweepDir = path.join(folder.dir, 'own');
    const lock = acquireSweepLock(sweepDir);
    const file = path.join(sweepDir, 'sweep.lock');
    assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
    lock.release();
    assert.equal(existsSync(file), false);
    lock.release();
  });

  test('live owner keeps the lock', () => {
    const sweepDir = path.join(folder.dir, 'taken');
    const other = process.ppid;
    folder.write('taken/sweep.lock', `${other}\n`);
    assert.throws(() => acquireSweepLock(sweepDir), new RegExp(`Another tandem process \\(pid ${other}\\) is running the sweep`));
  });

  test('dead owner loses the lock', () => {
    const sweepDir = path.join(folder.dir, 'stale');
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(folder.write('stale/sweep.lock', ''), `${ended.stdout}\n`);
    const lock = acquireSweepLock(sweepDir);
    assert.equal(readFileSync(path.join(sweepDir, 'sweep.lock'), 'utf8'), `${process.pid}\n`);
    lock.release();
  });
});
