import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import type { SweepManifest } from '../../src/sweep/manifest.ts';
import { projectRoot, realDataRoot, temporaryFolder, type TemporaryFolder } from './helpers.ts';

const TANDEM = path.join(projectRoot, 'runner/tandem.js');

/** Returns the environment of a `tandem` process: plain output, and no data root from the caller's environment. */
function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.TANDEM_DATA_ROOT;
  return env;
}

function tandem(args: string[]) {
  return spawnSync(process.execPath, [TANDEM, ...args], { cwd: projectRoot, env: environment(), encoding: 'utf8', timeout: 10 * 60 * 1000 });
}

/**
 * Writes configs/smoke.yaml with `sweep` added into `dir` as sweep.yaml, with results in dir/results. The
 * analysis is cut down to keep the trials short; it is not what these tests check.
 */
function writeSweepConfig(dir: string, sweep: Record<string, unknown>): string {
  const config = parse(readFileSync(path.join(projectRoot, 'configs/smoke.yaml'), 'utf8'));
  config.name = 'smoke-sweep';
  config.data.root = realDataRoot;
  config.output = { root: path.join(dir, 'results') };
  config.analysis = { attentionMaps: 0, tsne: { iterations: 20 } };
  config.sweep = sweep;
  const file = path.join(dir, 'sweep.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, stringify(config));
  return file;
}

/** Returns the one sweep folder under dir/results/smoke-sweep. */
function sweepFolder(dir: string): string {
  const parent = path.join(dir, 'results', 'smoke-sweep');
  const folders = readdirSync(parent).filter((name) => name.startsWith('sweep-'));
  assert.equal(folders.length, 1, `one sweep folder in ${parent}`);
  return path.join(parent, folders[0]);
}

function readManifest(sweepDir: string): SweepManifest {
  return JSON.parse(readFileSync(path.join(sweepDir, 'manifest.json'), 'utf8'));
}

/** Lists the run folders of a trial: trials/<id>/<experiment>/<run id>. */
function runFolders(sweepDir: string, id: string): string[] {
  return readdirSync(path.join(sweepDir, 'trials', id, 'smoke-sweep'));
}

describe('tandem run with a sweep', () => {
  let folder: TemporaryFolder;
  before(() => {
    folder = temporaryFolder('tandem-sweep-cli-');
  });
  after(() => folder.remove());

  test('killed sweep resumes to the same summary', async () => {
    const sweep = { grid: { 'model.textDropRate': [0, 0.5] }, trials: 1 };

    const referenceDir = path.join(folder.dir, 'reference');
    const reference = tandem(['run', writeSweepConfig(referenceDir, sweep), '--jobs', '2']);
    assert.equal(reference.status, 0, `${reference.stdout}\n${reference.stderr}`);

    const killedDir = path.join(folder.dir, 'killed');
    const configFile = writeSweepConfig(killedDir, sweep);
    const child = spawn(process.execPath, [TANDEM, 'run', configFile, '--jobs', '1'], { cwd: projectRoot, env: environment(), stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Wait for the first trial to finish, then kill the sweep while the next one runs.
    let doneBeforeKill: SweepManifest['trials'] = [];
    for (let attempt = 0; attempt < 1200 && doneBeforeKill.length === 0; attempt++) {
      await delay(100);
      try {
        doneBeforeKill = readManifest(sweepFolder(killedDir)).trials.filter((trial) => trial.status === 'done');
      } catch {
        // The manifest does not exist yet.
      }
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const sweepDir = sweepFolder(killedDir);
    doneBeforeKill = readManifest(sweepDir).trials.filter((trial) => trial.status === 'done');
    assert.equal(doneBeforeKill.length, 1, 'one trial done at the kill');

    const resumed = tandem(['run', configFile, '--jobs', '1']);
    assert.equal(resumed.status, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stderr, /Resuming the sweep in .*: 1 of 2 trials done, 1 to run\./);
    assert.match(resumed.stdout, /^sweep smoke-sweep: 1 trials/m);

    const after = readManifest(sweepDir);
    assert.deepEqual(
      after.trials.map((trial) => trial.status),
      ['done', 'done'],
    );
    for (const before of doneBeforeKill) {
      const now = after.trials.find((trial) => trial.id === before.id)!;
      assert.equal(now.runDir, before.runDir, `${before.label} kept its run folder`);
      assert.equal(now.attempts, 1, `${before.label} ran once`);
      assert.equal(runFolders(sweepDir, before.id).length, 1, `${before.label} has one run folder`);
    }
    for (const name of ['summary.md', 'summary.csv', 'summary.json']) {
      assert.equal(
        readFileSync(path.join(sweepDir, name), 'utf8'),
        readFileSync(path.join(sweepFolder(referenceDir), name), 'utf8'),
        `${name} equals that of the uninterrupted sweep`,
      );
    }
    assert.ok(readdirSync(sweepDir).includes('summary-plot.svg'), 'a one-parameter grid is plotted');

    rmSync(path.join(sweepDir, 'summary.md'));
    const rebuilt = tandem(['summary', sweepDir]);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    const referenceSummary = readFileSync(path.join(sweepFolder(referenceDir), 'summary.md'), 'utf8');
    assert.equal(readFileSync(path.join(sweepDir, 'summary.md'), 'utf8'), referenceSummary, 'tandem summary rebuilds summary.md');
    assert.equal(rebuilt.stdout, referenceSummary, 'tandem summary prints the table');
    assert.ok(!readdirSync(sweepDir).includes('sweep.lock'), 'the lock is released');
  });

  test('failed trial leaves the rest running', () => {
    // A copy of 30 images of the real data set, with one image's bytes replaced by text.
    const dataRoot = path.join(folder.dir, 'broken-data');
    mkdirSync(path.join(dataRoot, 'images'), { recursive: true });
    const records = JSON.parse(readFileSync(path.join(realDataRoot, 'VQA_RAD Dataset Public.json'), 'utf8'));
    const names = [...new Set(records.map((record: { image_name: string }) => record.image_name))].slice(0, 30) as string[];
    writeFileSync(
      path.join(dataRoot, 'VQA_RAD Dataset Public.json'),
      JSON.stringify(records.filter((record: { image_name: string }) => names.includes(record.image_name))),
    );
    for (const name of names) copyFileSync(path.join(realDataRoot, 'images', name), path.join(dataRoot, 'images', name));
    writeFileSync(path.join(dataRoot, 'images', names[3]), 'this is not an image');

    const dir = path.join(folder.dir, 'failing');
    const configFile = writeSweepConfig(dir, {
      variants: { broken: { 'data.root': dataRoot, 'data.maxImages': null }, working: {} },
      trials: 1,
    });
    const result = tandem(['run', configFile, '--jobs', '1']);
    assert.equal(result.status, 1, `${result.stdout}\n${result.stderr}`);
    const lines = result.stdout.split('\n');
    const failedLine = lines.findIndex((line) => /^trial 1\/2 broken, seed 1234: failed: .*/.test(line));
    const workingLine = lines.findIndex((line) => /^trial 2\/2 working, seed 1234: complete/.test(line));
    assert.ok(failedLine >= 0, `the failure is reported:\n${result.stdout}`);
    assert.ok(workingLine > failedLine, `the failure shows before the other trial ends:\n${result.stdout}`);
    assert.match(lines[failedLine], new RegExp(names[3].replace('.', '\\.')));
    assert.match(result.stderr, /1 trial failed or diverged; .* --retry-failed/);

    const sweepDir = sweepFolder(dir);
    const manifest = readManifest(sweepDir);
    assert.deepEqual(
      manifest.trials.map((trial) => [trial.label, trial.status]),
      [
        ['broken, seed 1234', 'failed'],
        ['working, seed 1234', 'done'],
      ],
    );
    assert.match(manifest.trials[0].reason!, new RegExp(names[3].replace('.', '\\.')));
    assert.match(readFileSync(path.join(sweepDir, manifest.trials[0].log), 'utf8'), /== attempt 1 at .*: broken, seed 1234 ==/);
    const summary = readFileSync(path.join(sweepDir, 'summary.md'), 'utf8');
    assert.match(summary, /^\| broken \| 0\/1 \(1 failed\) \| - \| - \| - \| - \|$/m);
    assert.match(summary, /^\| working \| 1\/1 \| \d+\.\d \|/m);
    assert.match(summary, /## Failed trials\n\n- broken, seed 1234 \(trial \w+\) failed: /);

    const baseline = tandem(['baseline', sweepDir]);
    assert.equal(baseline.status, 1, baseline.stderr);
    assert.match(baseline.stderr, /has 1 of 2 trials not done: broken, seed 1234 \(failed\)\. .*--retry-failed/);

    const dryRun = tandem(['run', configFile, '--dry-run']);
    assert.equal(dryRun.status, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /Would run 0 trials, .* 1 done, 1 failed or diverged and kept\./);
    assert.match(dryRun.stdout, /^1 +\w{12} +failed +keep +broken, seed 1234$/m);

    const changed = tandem(['run', configFile, '--set', 'train.epochs=1']);
    assert.equal(changed.status, 2, changed.stderr);
    assert.match(changed.stderr, /changed since it started in .*\n {2}train\.epochs: 2 -> 1\n/);

    const retried = tandem(['run', configFile, '--retry-failed']);
    assert.equal(retried.status, 1, retried.stderr);
    assert.match(retried.stdout, /^sweep smoke-sweep: 1 trials/m);
    const retriedManifest = readManifest(sweepDir);
    assert.deepEqual(
      retriedManifest.trials.map((trial) => trial.attempts),
      [2, 1],
    );
  });

  test('baseline and check of a sweep', () => {
    const dir = path.join(folder.dir, 'checked');
    const configFile = writeSweepConfig(dir, { grid: { 'model.textDropRate': [0, 0.5] }, trials: 1 });
    const ran = tandem(['run', configFile, '--jobs', '2']);
    assert.equal(ran.status, 0, `${ran.stdout}\n${ran.stderr}`);
    const sweepDir = sweepFolder(dir);
    const baselineFile = path.join(dir, 'baseline.json');
    const written = tandem(['baseline', sweepDir, '--output', baselineFile]);
    assert.equal(written.status, 0, written.stderr);
    const baseline = JSON.parse(readFileSync(baselineFile, 'utf8'));
    assert.deepEqual(Object.keys(baseline.runs), ['model.textDropRate=0, seed 1234', 'model.textDropRate=0.5, seed 1234']);
    assert.equal(baseline.source.run, `smoke-sweep/${path.basename(sweepDir)}`);
    const firstTrial = readManifest(sweepDir).trials[0];
    const metrics = JSON.parse(readFileSync(path.join(sweepDir, firstTrial.runDir!, 'metrics.json'), 'utf8'));
    assert.equal(baseline.runs[firstTrial.label].metrics['test.lossWithText'], metrics.test.lossWithText);

    // The check trains every trial again in a folder of its own, and the same code repeats them bitwise.
    const checked = tandem(['check', configFile, '--baseline', baselineFile, '--atol', '*=0', '--rtol', '*=0', '--jobs', '2']);
    assert.equal(checked.status, 0, `${checked.stdout}\n${checked.stderr}`);
    const checkSweeps = readdirSync(path.join(dir, 'results', 'smoke-sweep', 'checks'));
    assert.equal(checkSweeps.length, 1);
    assert.match(checked.stdout, /^Sweep .*checks.* \(2 trials\)$/m);
    assert.match(checked.stdout, /^model\.textDropRate=0\.5, seed 1234 +test\.lossWithText +\S+ +\S+ +0 +±0 +pass$/m);
    assert.match(checked.stdout, /^check passed: all 24 metrics within their tolerance\.$/m);
    assert.match(checked.stderr, /^trial 2\/2 /m, 'progress goes to stderr');

    const moved = JSON.parse(readFileSync(baselineFile, 'utf8'));
    moved.runs['model.textDropRate=0.5, seed 1234'].metrics['test.lossWithText'] += 0.1;
    moved.runs['absent, seed 1'] = moved.runs['model.textDropRate=0, seed 1234'];
    const movedFile = path.join(dir, 'moved.json');
    writeFileSync(movedFile, JSON.stringify(moved));
    const failed = tandem(['check', '--run', sweepDir, '--baseline', movedFile]);
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stdout, /^model\.textDropRate=0\.5, seed 1234 +test\.lossWithText .* FAIL$/m);
    assert.match(failed.stdout, /^check failed: 13 of 36 metrics outside their tolerance\.$/m);
    assert.match(failed.stderr, /^note: baseline trials that this sweep did not run, so their rows fail with "-": absent, seed 1\./m);

    const wrongKind = tandem(['check', '--run', sweepDir, '--baseline', path.join(projectRoot, 'baselines/smoke.json')]);
    assert.equal(wrongKind.status, 2, wrongKind.stderr);
    assert.match(wrongKind.stderr, /contains a single run, but .* is a sweep\./);
  });

  test('invalid grid value exits 2 at its line', () => {
    const dir = path.join(folder.dir, 'invalid');
    const configFile = writeSweepConfig(dir, { grid: { 'model.textDropRate': [0.5, 2] } });
    const result = tandem(['run', configFile]);
    assert.equal(result.status, 2, result.stderr);
    const line = readFileSync(configFile, 'utf8').split('\n').findIndex((text) => text.includes('- 2')) + 1;
    assert.match(result.stderr, new RegExp(`sweep\\.yaml:${line}:\\d+ +sweep\\.grid\\["model\\.textDropRate"\\]\\[1\\] +must be at most 1`));

    const validated = tandem(['validate', configFile]);
    assert.equal(validated.status, 2, validated.stdout);
    assert.match(validated.stdout, new RegExp(`sweep\\.yaml:${line}:\\d+ +sweep\\.grid\\["model\\.textDropRate"\\]\\[1\\] +must be at most 1`));
  });
});
