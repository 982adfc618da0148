/** Composition with `extends`, `--set` overrides, file paths across files, and the dry-run output. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { checkConfig, loadConfig } from '../../src/config/load.ts';
import { COMMAND_LINE } from '../../src/config/problems.ts';
import { renderConfig, renderDryRun } from '../../src/config/render.ts';
import { createFixtureFolder, loadError, type FixtureFolder } from './fixtures.ts';

describe('extends', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('deep merge keeps base keys', () => {
    fixtures.write('merge/base.yaml', 'data:\n  imageSize: 48\n  resizeTo: 56\nmodel:\n  backbone:\n    depth: 10\n');
    const file = fixtures.write('merge/child.yaml', 'extends: base.yaml\nname: child\ndata:\n  resizeTo: 60\n');
    const { config } = loadConfig(file);
    assert.equal(config.data.imageSize, 48);
    assert.equal(config.data.resizeTo, 60);
    assert.equal(config.model.backbone.depth, 10);
    assert.equal(config.model.backbone.widenFactor, 4, 'defaults fill in after the merge');
  });

  test('lists replace instead of merging', () => {
    fixtures.write('lists/base.yaml', 'data:\n  labels: [ABD, CHEST, HEAD]\n');
    const { config } = loadConfig(fixtures.write('lists/child.yaml', 'extends: base.yaml\nname: child\ndata:\n  labels: [HEAD, ABD]\n'));
    assert.deepEqual(config.data.labels, ['HEAD', 'ABD']);
  });

  test('later bases override earlier ones', () => {
    fixtures.write('order/first.yaml', 'seed: 1\ntrain:\n  epochs: 5\n');
    fixtures.write('order/second.yaml', 'seed: 2\n');
    const { config } = loadConfig(fixtures.write('order/child.yaml', 'extends: [first.yaml, second.yaml]\nname: child\n'));
    assert.equal(config.seed, 2);
    assert.equal(config.train.epochs, 5);
  });

  test('chain of three files', () => {
    fixtures.write('chain/grandparent.yaml', 'seed: 7\ntrain:\n  epochs: 3\n');
    fixtures.write('chain/sub/parent.yaml', 'extends: ../grandparent.yaml\ntrain:\n  batchSize: 4\n');
    const loaded = loadConfig(fixtures.write('chain/child.yaml', 'extends: sub/parent.yaml\nname: child\ntrain:\n  epochs: 9\n'));
    assert.equal(loaded.config.seed, 7);
    assert.equal(loaded.config.train.batchSize, 4);
    assert.equal(loaded.config.train.epochs, 9);
    assert.deepEqual(
      loaded.files.map((file) => path.basename(file)),
      ['child.yaml', 'parent.yaml', 'grandparent.yaml'],
    );
  });

  test('shared base is no cycle', () => {
    fixtures.write('diamond/common.yaml', 'seed: 11\n');
    fixtures.write('diamond/left.yaml', 'extends: common.yaml\ntrain:\n  epochs: 2\n');
    fixtures.write('diamond/right.yaml', 'extends: common.yaml\ntrain:\n  batchSize: 2\n');
    const { config, warnings } = loadConfig(fixtures.write('diamond/child.yaml', 'extends: [left.yaml, right.yaml]\nname: child\n'));
    assert.deepEqual(warnings, []);
    assert.equal(config.seed, 11);
    assert.equal(config.train.epochs, 2);
    assert.equal(config.train.batchSize, 2);
  });

  test('misspelt base suggests the file', () => {
    fixtures.write('misspelt/common-base.yaml', 'seed: 1\n');
    const [problem] = loadError(fixtures.write('misspelt/child.yaml', 'name: child\nextends: ./comon-base.yaml\n')).problems;
    assert.equal(problem.code, 'extends-missing');
    assert.equal(`${problem.line}:${problem.column}`, '2:10');
    assert.equal(problem.fix, 'did you mean `common-base.yaml`?');
  });

  test('cycle names every file', () => {
    fixtures.write('cycle/a.yaml', 'extends: b.yaml\nname: a\n');
    fixtures.write('cycle/b.yaml', 'extends: c.yaml\n');
    fixtures.write('cycle/c.yaml', 'seed: 3\nextends: a.yaml\n');
    const [problem] = loadError(path.join(fixtures.dir, 'cycle/a.yaml')).problems;
    assert.equal(problem.code, 'extends-cycle');
    assert.equal(path.basename(problem.file), 'c.yaml');
    assert.equal(`${problem.line}:${problem.column}`, '2:10');
    const names = (problem.found ?? '').split(' extends ').map((file) => path.basename(file));
    assert.deepEqual(names, ['a.yaml', 'b.yaml', 'c.yaml', 'a.yaml']);
  });

  test('error in base prints the base line', () => {
    fixtures.write('printed/base.yaml', 'model:\n  textDropRate: 3\n');
    const error = loadError(fixtures.write('printed/child.yaml', 'extends: base.yaml\nname: child\n'));
    const base = path.join(fixtures.dir, 'printed/base.yaml');
    assert.match(error.message, new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:17  model\\.textDropRate  must be at most 1  \\[range\\]\n  2 \\|   textDropRate: 3\n    \\|                 \\^`));
  });

  test('missing key points at the config file', () => {
    fixtures.write('unnamed/base.yaml', 'seed: 5\n');
    const [problem] = loadError(fixtures.write('unnamed/child.yaml', 'extends: base.yaml\ntrain:\n  epochs: 2\n')).problems;
    assert.equal(problem.code, 'missing-key');
    assert.equal(path.basename(problem.file), 'child.yaml');
  });

  test('!replace swaps a base mapping whole', () => {
    fixtures.write('replace/base.yaml', 'model:\n  backbone:\n    type: wrn\n    depth: 10\n    widenFactor: 2\n  textDropRate: 0.3\n');
    const merged = loadError(fixtures.write('replace/merged.yaml', 'extends: base.yaml\nname: c\nmodel:\n  backbone:\n    type: resnet18\n'));
    assert.deepEqual(
      merged.problems.map((problem) => problem.code),
      ['cross-field/backbone-field-of-other-type', 'cross-field/backbone-field-of-other-type'],
    );
    assert.match(merged.problems[0].fix ?? '', /backbone: !replace/);

    const { config } = loadConfig(fixtures.write('replace/child.yaml', 'extends: base.yaml\nname: c\nmodel:\n  backbone: !replace\n    type: resnet18\n'));
    assert.deepEqual(Object.keys(config.model.backbone).sort(), ['type', 'weights']);
    assert.equal(config.model.backbone.type, 'resnet18');
    assert.equal(config.model.textDropRate, 0.3, 'the rest of the model section still merges');
  });

  test('!default removes a base key', () => {
    fixtures.write('reset/base.yaml', 'train:\n  epochs: 7\n  batchSize: 4\nmodel:\n  textDropRate: 0.3\n');
    const child = fixtures.write('reset/child.yaml', 'extends: base.yaml\nname: c\ntrain:\n  epochs: !default\n');
    const { config } = loadConfig(child);
    const defaults = loadConfig(fixtures.write('reset/plain.yaml', 'name: plain\n')).config;
    assert.equal(config.train.epochs, defaults.train.epochs);
    assert.notEqual(config.train.epochs, 7);
    assert.equal(config.train.batchSize, 4, 'the rest of the mapping still merges');

    const misspelt = loadError(fixtures.write('reset/typo.yaml', 'extends: base.yaml\nname: c\ntrain:\n  epohcs: !default\n'));
    assert.deepEqual(
      misspelt.problems.map((problem) => [problem.code, problem.line, problem.fix]),
      [['unknown-key', 4, 'did you mean `epochs`?']],
    );

    const { config: fromOption } = loadConfig(child, { overrides: ['model.textDropRate=!default'] });
    assert.equal(fromOption.model.textDropRate, defaults.model.textDropRate);
  });

  test('misused merge tags are placed', () => {
    fixtures.write('tags/base.yaml', 'train:\n  epochs: 7\n');
    const file = fixtures.write('tags/child.yaml', 'extends: base.yaml\nname: c\ntrain:\n  epochs: !default 3\nmodel:\n  textDropRate: !replace 0.3\n');
    const all = loadError(file).problems;
    assert.deepEqual(all.filter((problem) => problem.code !== 'merge-tag'), [], 'no second problem about the tagged values');
    const problems = all.filter((problem) => problem.code === 'merge-tag');
    assert.deepEqual(
      problems.map((problem) => [problem.line, problem.message.split(':')[0]]),
      [
        [4, '!default takes no value'],
        [6, '!replace applies to a mapping'],
      ],
    );

    const misspelt = loadError(fixtures.write('tags/typo.yaml', 'extends: base.yaml\nname: c\ntrain: !replce\n  epochs: 3\n'));
    const [typo] = misspelt.problems.filter((problem) => problem.code === 'merge-tag');
    assert.equal(typo.message, 'unknown tag !replce');
    assert.equal(typo.fix, 'did you mean !replace?');

    const clean = fixtures.write('tags/clean.yaml', 'extends: base.yaml\nname: c\n');
    const fromOption = checkConfig(clean, { overrides: ['train.epochs=!default 4'] }).problems.find((problem) => problem.code === 'merge-tag');
    assert.equal(fromOption?.file, COMMAND_LINE);
    assert.equal(fromOption?.fix, "write it alone: --set 'train.epochs=!default', or remove !default to set the value");
  });
});

describe('file paths across files', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('base paths resolve against the base', () => {
    fixtures.write('project/configs/base.yaml', 'data:\n  root: ../data/vqa-rad\noutput:\n  root: /absolute/results\n');
    const file = fixtures.write('project/configs/ablations/child.yaml', 'extends: ../base.yaml\nname: child\n');
    const loaded = loadConfig(file);
    assert.equal(path.resolve(loaded.dir, loaded.config.data.root), path.join(fixtures.dir, 'project/data/vqa-rad'));
    assert.equal(loaded.config.data.root, path.join('..', '..', 'data', 'vqa-rad'));
    assert.equal(loaded.config.output.root, '/absolute/results');
  });

  test('child paths and defaults resolve against the child', () => {
    fixtures.write('own/configs/base.yaml', 'seed: 2\n');
    const loaded = loadConfig(fixtures.write('own/configs/child/child.yaml', 'extends: ../base.yaml\nname: child\ndata:\n  root: data\n'));
    assert.equal(loaded.config.data.root, 'data');
    assert.equal(loaded.config.output.root, '../results');
  });

  test('override paths resolve against the working directory', () => {
    const file = fixtures.write('cwd/configs/exp.yaml', 'name: exp\n');
    const workingDirectory = path.join(fixtures.dir, 'cwd');
    const loaded = loadConfig(file, { overrides: ['data.root=images', 'output.root=/tmp/out'], workingDirectory });
    assert.equal(path.resolve(loaded.dir, loaded.config.data.root), path.join(workingDirectory, 'images'));
    assert.equal(loaded.config.output.root, '/tmp/out');
  });

  test('rendered config has absolute paths', () => {
    fixtures.write('render/base.yaml', 'data:\n  root: ../data\n');
    const loaded = loadConfig(fixtures.write('render/sub/child.yaml', 'extends: ../base.yaml\nname: child\n'));
    const rendered = parse(renderConfig(loaded.config, { configDir: loaded.dir }));
    assert.equal(rendered.data.root, path.join(fixtures.dir, 'data'));
    assert.equal(rendered.output.root, path.join(fixtures.dir, 'render/results'));
    assert.equal(rendered.data.manifest, null);
  });
});

describe('--set overrides', () => {
  let fixtures: FixtureFolder;
  let file: string;
  before(() => {
    fixtures = createFixtureFolder();
    fixtures.write('base.yaml', 'model:\n  textDropRate: 0.2\n');
    file = fixtures.write('config.yaml', 'extends: base.yaml\nname: demo\ntrain:\n  epochs: 4\n');
  });
  after(() => fixtures.remove());

  test('values parse as YAML', () => {
    const overrides = ['train.epochs=2', 'model.skipConnection=false', 'data.maxImages=null', 'data.labels=[B, A]', 'name="007"'];
    const { config } = loadConfig(file, { overrides });
    assert.equal(config.train.epochs, 2);
    assert.equal(config.model.skipConnection, false);
    assert.equal(config.data.maxImages, null);
    assert.deepEqual(config.data.labels, ['B', 'A']);
    assert.equal(config.name, '007');
  });

  test('overrides beat files and later ones win', () => {
    const { config } = loadConfig(file, { overrides: ['model.textDropRate=0.3', 'model.textDropRate=0.4'] });
    assert.equal(config.model.textDropRate, 0.4);
    assert.equal(config.train.epochs, 4);
  });

  test('mapping value merges into the section', () => {
    const { config } = loadConfig(file, { overrides: ['train={batchSize: 3}'] });
    assert.equal(config.train.batchSize, 3);
    assert.equal(config.train.epochs, 4);
  });

  test('invalid override is placed on the command line', () => {
    const checked = checkConfig(file, { overrides: ['train.epochs=3', 'model.textDropRate=1.5'] });
    assert.equal(checked.problems.length, 1);
    const [problem] = checked.problems;
    assert.equal(problem.file, COMMAND_LINE);
    assert.equal(`${problem.line}:${problem.column}`, '2:26');
    assert.equal(problem.code, 'range');
    assert.deepEqual(checked.sources.get(COMMAND_LINE), ['--set train.epochs=3', '--set model.textDropRate=1.5']);
  });

  test('override problem printed with caret', () => {
    try {
      loadConfig(file, { overrides: ['model.textDroprate=0.3'] });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.equal(
        (error as Error).message.split('\n').slice(0, 3).join('\n'),
        [
          '<command line>:1:13  model.textDroprate  unknown key `textDroprate`  [unknown-key]',
          '  1 | --set model.textDroprate=0.3',
          '    |             ^',
        ].join('\n'),
      );
      assert.match((error as Error).message, /fix: did you mean `textDropRate`\?/);
    }
  });

  test('colon instead of equals sign', () => {
    const [problem] = checkConfig(file, { overrides: ['train.epochs: 3'] }).problems;
    assert.equal(problem.code, 'override-syntax');
    assert.equal(problem.fix, 'write `=` in place of `:`: `train.epochs=3`');
  });
});

describe('dry run', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('output loads back as the same config', () => {
    fixtures.write('dry/base.yaml', 'data:\n  root: ../data\n');
    const loaded = loadConfig(fixtures.write('dry/sub/child.yaml', 'extends: ../base.yaml\nname: child\n'), { overrides: ['train.epochs=3'] });
    const text = renderDryRun(loaded, {});
    assert.match(text, /^# tandem run --dry-run: nothing was trained and no file was written\.$/m);
    assert.match(text, /^# Overrides: --set train\.epochs=3$/m);
    assert.match(text, /^# Would train TandemNet with a WRN-16-4 backbone for 3 epochs of batch 32, seed 1234/m);
    assert.match(text, new RegExp(`^# Data: ${path.join(fixtures.dir, 'data')}, set by data\\.root`, 'm'));

    const reloaded = loadConfig(fixtures.write('dry/reloaded.yaml', text));
    assert.deepEqual({ ...reloaded.config, data: { ...reloaded.config.data, root: '' }, output: { ...reloaded.config.output, root: '' } }, {
      ...loaded.config,
      data: { ...loaded.config.data, root: '' },
      output: { ...loaded.config.output, root: '' },
    });
    assert.equal(reloaded.config.data.root, path.join(fixtures.dir, 'data'));
  });

  test('data root variable is named', () => {
    const loaded = loadConfig(fixtures.write('env/config.yaml', 'name: env\n'));
    const text = renderDryRun(loaded, { TANDEM_DATA_ROOT: '/elsewhere/vqa-rad' });
    assert.match(text, /^# Data: \/elsewhere\/vqa-rad, set by the environment variable TANDEM_DATA_ROOT \(not found\)\.$/m);
  });
});
