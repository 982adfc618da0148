import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { trialId } from '../../src/sweep/plan.ts';
import { plan, planError, temporaryFolder, type TemporaryFolder } from './helpers.ts';

/** Returns `line:column` of the first `text` on 1-based line `line` of `source`. */
function positionOf(source: string, line: number, text: string): string {
  const column = source.split('\n')[line - 1].indexOf(text);
  assert.ok(column >= 0, `${text} is not on line ${line}`);
  return `${line}:${column + 1}`;
}

describe('planSweep', () => {
  let folder: TemporaryFolder;
  before(() => {
    folder = temporaryFolder();
  });
  after(() => folder.remove());

  test('grid times variants times seeds', async () => {
    const file = folder.write(
      'grid.yaml',
      [
        'name: demo',
        'seed: 10',
        'sweep:',
        '  variants:',
        '    plain: {}',
        '    no-skip:',
        '      model.skipConnection: false',
        '  grid:',
        '    model.textDropRate: [0, 0.5]',
        '  trials: 2',
        '',
      ].join('\n'),
    );
    const planned = await plan(file);

    assert.equal(planned.points.length, 4);
    assert.equal(planned.trials.length, 8);
    assert.deepEqual(
      planned.trials.map((trial) => trial.label),
      [
        'plain, model.textDropRate=0, seed 10',
        'plain, model.textDropRate=0, seed 11',
        'plain, model.textDropRate=0.5, seed 10',
        'plain, model.textDropRate=0.5, seed 11',
        'no-skip, model.textDropRate=0, seed 10',
        'no-skip, model.textDropRate=0, seed 11',
        'no-skip, model.textDropRate=0.5, seed 10',
        'no-skip, model.textDropRate=0.5, seed 11',
      ],
    );

    const last = planned.trials[7].config!;
    assert.equal(last.model.skipConnection, false);
    assert.equal(last.model.textDropRate, 0.5);
    assert.equal(last.seed, 11);
    assert.equal(last.sweep, undefined, 'a trial config has no sweep section');
    assert.equal(new Set(planned.trials.map((trial) => trial.id)).size, 8, 'every trial has its own id');
    assert.equal(path.basename(planned.sweepDir), `sweep-${planned.specHash}`);
    assert.equal(path.dirname(planned.sweepDir), path.join(folder.dir, '../results', 'demo'));
  });

  test('trial ids ignore where results go', async () => {
    const sweep = 'sweep:\n  grid:\n    train.epochs: [1, 2]\n  trials: 1\n';
    const first = await plan(folder.write('a/ids.yaml', `name: demo\noutput:\n  root: one\n${sweep}`));
    const second = await plan(folder.write('b/ids.yaml', `name: demo\noutput:\n  root: two\n${sweep}`));
    assert.deepEqual(
      first.trials.map((trial) => trial.id),
      second.trials.map((trial) => trial.id),
    );
    assert.equal(first.specHash, second.specHash);
    assert.notEqual(first.sweepDir, second.sweepDir);
  });

  test('trial id covers the data fingerprint', async () => {
    const file = folder.write('fingerprint.yaml', 'name: demo\nsweep:\n  trials: 1\n');
    const one = await plan(file, { fingerprint: async () => 'a'.repeat(64) });
    const other = await plan(file, { fingerprint: async () => 'b'.repeat(64) });
    assert.notEqual(one.trials[0].id, other.trials[0].id);
    assert.equal(one.trials[0].id, trialId(one.trials[0].config!, folder.dir, 'a'.repeat(64)));
    assert.deepEqual(one.dataFingerprints, ['a'.repeat(64)]);
  });

  test('invalid grid value points at its entry', async () => {
    const source = 'name: demo\nsweep:\n  grid:\n    model.textDropRate: [0, 0.5, 1.5]\n';
    const file = folder.write('bad-value.yaml', source);
    const { problems } = await planError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem.file, file);
    assert.equal(`${problem.line}:${problem.column}`, positionOf(source, 4, '1.5'));
    assert.equal(problem.path, 'sweep.grid["model.textDropRate"][2]');
    assert.equal(problem.message, 'must be at most 1');
    assert.equal(problem.code, 'range');
  });

  test('unknown variant key suggests the right one', async () => {
    const source = 'name: demo\nsweep:\n  variants:\n    wvs:\n      model.skipConection: false\n';
    const file = folder.write('bad-key.yaml', source);
    const { problems } = await planError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, positionOf(source, 5, 'model.skipConection'));
    assert.equal(problem.code, 'unknown-key');
    assert.equal(problem.fix, 'did you mean `skipConnection`?');
  });

  test('nested variant value points inside it', async () => {
    const source = 'name: demo\nsweep:\n  variants:\n    deep:\n      model.backbone: { depth: 11 }\n';
    const file = folder.write('nested.yaml', source);
    const { problems } = await planError(file);
    assert.equal(problems.length, 1);
    assert.equal(`${problems[0].line}:${problems[0].column}`, positionOf(source, 5, '11'));
    assert.equal(problems[0].code, 'cross-field/backbone-depth');
  });

  test('grid cannot vary the sweep section', async () => {
    const source = 'name: demo\nsweep:\n  grid:\n    sweep.trials: [1, 2]\n';
    const { problems } = await planError(folder.write('sweep-in-grid.yaml', source));
    assert.equal(problems.length, 1);
    assert.equal(`${problems[0].line}:${problems[0].column}`, positionOf(source, 4, 'sweep.trials'));
    assert.match(problems[0].message, /the grid cannot vary `sweep\.trials`/);
  });

  test('variant and grid on one path rejected', async () => {
    const source = [
      'name: demo',
      'sweep:',
      '  grid:',
      '    model.textDropRate: [0, 1]',
      '  variants:',
      '    low:',
      '      model: { textDropRate: 0.1 }',
      '    other:',
      '      model: { skipConnection: false }',
      '',
    ].join('\n');
    const { problems } = await planError(folder.write('overlap.yaml', source));
    assert.equal(problems.length, 1, 'a variant that sets other model keys merges with the grid');
    assert.equal(problems[0].line, 7);
    assert.match(problems[0].message, /variant `low` sets `model`, which the grid also varies through `model\.textDropRate`/);
  });

  test('identical variants rejected', async () => {
    const source = 'name: demo\nsweep:\n  variants:\n    a: {}\n    b:\n      seed: 1234\n';
    const { problems } = await planError(folder.write('same.yaml', source));
    assert.equal(problems.length, 1);
    assert.equal(problems[0].line, 5);
    assert.match(problems[0].message, /b resolves to the same config as a/);
  });

  test('relative paths in variants follow the config file', async () => {
    const file = folder.write('paths/sub/relative.yaml', 'name: demo\nsweep:\n  variants:\n    other:\n      data.root: ../data\n');
    const planned = await plan(file);
    assert.equal(path.resolve(planned.configDir, planned.trials[0].config!.data.root), path.join(folder.dir, 'paths/data'));
  });

  test('missing weights file blocks trials only', async () => {
    const source = [
      'name: demo',
      'sweep:',
      '  variants:',
      '    scratch: {}',
      '    pretrained:',
      '      model.backbone: { type: resnet18, weights: no-such-weights.safetensors }',
      '  trials: 2',
      '',
    ].join('\n');
    const planned = await plan(folder.write('weights.yaml', source));
    const blocked = planned.trials.filter((trial) => trial.blocked !== null);
    assert.deepEqual(
      blocked.map((trial) => trial.point),
      [1, 1],
    );
    assert.match(blocked[0].blocked!, /the pretrained weights file was not found/);
    assert.equal(blocked[0].config, null);
    assert.notEqual(blocked[0].id, blocked[1].id);
    assert.match(planned.warnings, /warning: the pretrained weights file was not found/);
  });

  test('unreadable data blocks trials only', async () => {
    const file = folder.write('data.yaml', 'name: demo\nsweep:\n  trials: 2\n');
    const planned = await plan(file, {
      fingerprint: async () => {
        throw new DataError('Data folder /nowhere was not found.');
      },
    });
    assert.deepEqual(
      planned.trials.map((trial) => trial.blocked),
      ['Data folder /nowhere was not found.', 'Data folder /nowhere was not found.'],
    );
    assert.deepEqual(planned.dataFingerprints, []);
  });

  test('overrides reach every trial', async () => {
    const file = folder.write('overrides.yaml', 'name: demo\nsweep:\n  grid:\n    seed: [1, 5]\n  trials: 2\n');
    const planned = await plan(file, { overrides: ['train.epochs=3', 'sweep.trials=3'] });
    assert.equal(planned.trials.length, 6);
    assert.deepEqual(
      planned.trials.map((trial) => trial.seed),
      [1, 2, 3, 5, 6, 7],
    );
    for (const trial of planned.trials) assert.equal(trial.config!.train.epochs, 3);
  });
});
