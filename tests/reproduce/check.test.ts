import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { UsageError, type Command } from '../../runner/command.ts';
import { baselineCommand } from '../../runner/commands/baseline.ts';
import { checkCommand } from '../../runner/commands/check.ts';
import { TandemError } from '../../src/errors.ts';
import { onlyRunFolder, readJson, smokeConfig, tandem, temporaryFolder } from './helpers.ts';

/** Find the table row of `metric` in check's output and split it into its columns. */
function row(stdout: string, metric: string): string[] {
  const line = stdout.split('\n').find((text) => text.startsWith(`${metric} `));
  assert.ok(line, `no row for ${metric} in\n${stdout}`);
  return line.trim().split(/\s+/);
}

describe('tandem baseline and tandem check', () => {
  let config = '';
  let runDir = '';
  let baselineFile = '';
  let folder = '';

  before(() => {
    const smoke = smokeConfig();
    config = smoke.file;
    const result = tandem(['run', config]);
    assert.equal(result.status, 0, result.stderr);
    runDir = onlyRunFolder(smoke.results)!;
    folder = temporaryFolder('tandem-baseline-');
    baselineFile = path.join(folder, 'smoke.json');
    const written = tandem(['baseline', runDir, '--output', baselineFile]);
    assert.equal(written.status, 0, written.stderr);
  });

  /** Write a copy of the baseline with `edit` applied; returns its path. */
  function editedBaseline(name: string, edit: (baseline: any) => void): string {
    const baseline = readJson(baselineFile);
    edit(baseline);
    const file = path.join(folder, name);
    writeFileSync(file, JSON.stringify(baseline));
    return file;
  }

  test('baseline records the metrics, tolerances and provenance of the run', () => {
    const baseline = readJson(baselineFile);
    const metrics = readJson(path.join(runDir, 'metrics.json'));
    const record = readJson(path.join(runDir, 'run.json'));
    assert.equal(baseline.format, 'tandem-baseline');
    assert.equal(baseline.version, 1);
    assert.equal(baseline.runs.run.metrics['test.accuracyWithoutText'], metrics.test.accuracyWithoutText);
    assert.equal(baseline.runs.run.metrics['test.lossWithText'], metrics.test.lossWithText);
    assert.equal(baseline.runs.run.metrics.bestEpoch, metrics.bestEpoch);
    assert.deepEqual(baseline.tolerances.bestEpoch, { absolute: 0, relative: 0 });
    assert.deepEqual(baseline.tolerances['test.accuracyWithoutText'], { absolute: 1 / metrics.test.samples, relative: 0 });
    assert.equal(baseline.source.configSha256, record.configSha256);
    assert.equal(baseline.source.dataSha256, record.data.fingerprint.sha256);
    assert.equal(baseline.source.backend, 'wasm');
    assert.ok(!baseline.source.run.startsWith('/'), 'no machine-specific path in the baseline');
  });

  test('check reruns the config and passes against its own baseline', () => {
    const result = tandem(['check', config, '--baseline', baselineFile]);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.deepEqual(row(result.stdout, 'metric'), ['metric', 'baseline', 'now', 'difference', 'tolerance', 'result']);
    const loss = row(result.stdout, 'test.lossWithoutText');
    assert.equal(loss[3], '0', 'the same machine and backend reproduce the loss bitwise');
    assert.equal(loss[5], 'pass');
    assert.match(result.stdout, /check passed: all \d+ metrics within their tolerance\./);
  });

  test('a difference within the tolerance passes', () => {
    const file = editedBaseline('within.json', (baseline) => {
      baseline.runs.run.metrics['test.lossWithoutText'] *= 1 + 0.5e-3;
    });
    const result = tandem(['check', '--run', runDir, '--baseline', file]);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(row(result.stdout, 'test.lossWithoutText')[5], 'pass');
  });

  test('a difference outside the tolerance fails with exit 1', () => {
    const file = editedBaseline('outside.json', (baseline) => {
      baseline.runs.run.metrics['test.lossWithoutText'] += 0.01;
      baseline.runs.run.metrics.bestEpoch += 1;
    });
    const result = tandem(['check', '--run', runDir, '--baseline', file]);
    assert.equal(result.status, 1, `${result.stdout}\n${result.stderr}`);
    const loss = row(result.stdout, 'test.lossWithoutText');
    assert.equal(loss[3], '-0.01');
    assert.equal(loss[5], 'FAIL');
    assert.equal(row(result.stdout, 'bestEpoch')[5], 'FAIL');
    assert.equal(row(result.stdout, 'test.accuracyWithoutText')[5], 'pass');
    assert.match(result.stdout, /check failed: 2 of \d+ metrics outside their tolerance\./);
  });

  test('command-line tolerances replace those of the file', () => {
    const file = editedBaseline('loose.json', (baseline) => {
      baseline.runs.run.metrics['test.lossWithoutText'] += 0.01;
    });
    const loose = tandem(['check', '--run', runDir, '--baseline', file, '--atol', 'test.lossWithoutText=0.02']);
    assert.equal(loose.status, 0, loose.stdout);
    assert.equal(row(loose.stdout, 'test.lossWithoutText')[4], '±0.02');
    const strict = tandem(['check', '--run', runDir, '--baseline', baselineFile, '--rtol', '*=0', '--atol', '*=0']);
    assert.equal(strict.status, 0, `a bitwise equal run passes even with zero tolerance\n${strict.stdout}`);
  });

  test('a usage error exits 2', () => {
    const result = tandem(['check', config]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /tandem check needs --baseline <file>\.\nUsage: tandem check <config\.yaml> --baseline <file>/);
  });

  test('usage errors name the problem', async () => {
    // In process, to save a start of the command line per case; the test above covers the exit code.
    const cases: [Command, string[], RegExp][] = [
      [checkCommand, ['--baseline', baselineFile], /exactly one config file, or --run <run or sweep folder>/],
      [checkCommand, [config, '--run', runDir, '--baseline', baselineFile], /a config file or --run <run or sweep folder>, not both/],
      [checkCommand, ['--run', runDir, '--baseline', baselineFile, '--jobs', '2'], /--jobs applies when tandem check runs a sweep, not with --run/],
      [checkCommand, [config, '--baseline', baselineFile, '--jobs', '2'], /--jobs applies to a config with a sweep section/],
      [checkCommand, ['--run', runDir, '--baseline', baselineFile, '--set', 'train.epochs=1'], /--set applies when tandem check runs a config, not with --run/],
      [checkCommand, ['--run', runDir, '--baseline', baselineFile, '--atol', 'test.lossWithoutTxt=1'], /Did you mean "test\.lossWithoutText"\?/],
      [checkCommand, ['--run', runDir, '--baseline', baselineFile, '--rtol', 'test.lossWithText=-1'], /Invalid --rtol "test\.lossWithText=-1"/],
      [baselineCommand, [], /exactly one run or sweep folder/],
    ];
    for (const [command, args, message] of cases) {
      await assert.rejects(command.run(args), (error: Error) => {
        assert.ok(error instanceof UsageError, `${args.join(' ')}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test('a missing or invalid baseline file exits 2', async () => {
    const invalid = editedBaseline('invalid.json', (baseline) => {
      baseline.tolerances['test.lossWithText'] = { absolute: 'small' };
    });
    const cases: [string, RegExp][] = [
      [path.join(folder, 'missing.json'), /missing\.json was not found\. Write one with `tandem baseline <run or sweep folder> --output/],
      [invalid, /tolerances\["test\.lossWithText"\]\.absolute must be a number >= 0, not "small"/],
    ];
    for (const [file, message] of cases) {
      await assert.rejects(checkCommand.run(['--run', runDir, '--baseline', file]), (error: Error) => {
        assert.ok(error instanceof TandemError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test('baseline rejects an unfinished run', () => {
    const copy = temporaryFolder('tandem-unfinished-');
    writeFileSync(path.join(copy, 'run.json'), readFileSync(path.join(runDir, 'run.json')));
    const result = tandem(['baseline', copy]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /is not complete: it has no COMPLETE marker/);
    assert.match(result.stderr, /Finish it with `tandem run --resume /);

    const record = readJson(path.join(runDir, 'run.json'));
    writeFileSync(path.join(copy, 'run.json'), JSON.stringify({ ...record, status: 'running' }));
    const running = tandem(['baseline', copy]);
    assert.equal(running.status, 1, running.stderr);
    assert.match(running.stderr, /has status "running": wait until it finishes\. Only if its process was killed, finish it with/);
  });
});
