import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { formatConfigPath, formatProblem, type ConfigProblem } from '../../src/config/problems.ts';
import { renderConfig } from '../../src/config/render.ts';
import { ExperimentSchema } from '../../src/config/schema.ts';
import { closestMatch, levenshteinDistance } from '../../src/config/suggest.ts';
import { createFixtureFolder, type FixtureFolder } from './fixtures.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('formatProblem', () => {
  const problem: ConfigProblem = {
    code: 'range',
    file: 'configs/demo.yaml',
    line: 12,
    column: 14,
    path: 'data.imageSize',
    message: 'must be at least 16',
    found: '8',
    allowed: 'an integer from 16 to 1024',
    fix: 'set it to 16 or more',
    severity: 'error',
  };

  test('block layout', () => {
    const lines = Array.from({ length: 12 }, () => '');
    lines[11] = '  imageSize: 8';
    const expected = [
      'configs/demo.yaml:12:14  data.imageSize  must be at least 16  [range]',
      '  12 |   imageSize: 8',
      '     |              ^',
      '  found: 8',
      '  allowed: an integer from 16 to 1024',
      '  fix: set it to 16 or more',
    ].join('\n');
    assert.equal(formatProblem(problem, lines), expected);
  });

  test('caret keeps tabs', () => {
    const text = formatProblem({ ...problem, line: 1, column: 3 }, ['\t\tx: 1']);
    assert.equal(text.split('\n')[2], '    | \t\t^');
  });

  test('warning and missing source line', () => {
    const text = formatProblem({ ...problem, severity: 'warning', found: undefined, allowed: undefined, fix: undefined }, []);
    assert.equal(text, 'configs/demo.yaml:12:14  data.imageSize  warning: must be at least 16  [range]');
  });

  test('file-level problem has no position', () => {
    const text = formatProblem({ ...problem, line: 0, column: 0, path: '', found: undefined, allowed: undefined }, []);
    assert.equal(text, 'configs/demo.yaml  must be at least 16  [range]\n  fix: set it to 16 or more');
  });

  test('config path quoting', () => {
    assert.equal(formatConfigPath(['data', 'imageSize']), 'data.imageSize');
    assert.equal(formatConfigPath(['data', 'image size']), 'data["image size"]');
    assert.equal(formatConfigPath(['list', '2']), 'list[2]');
    assert.equal(formatConfigPath([]), '');
  });
});

describe('suggestions', () => {
  test('levenshtein distance', () => {
    assert.equal(levenshteinDistance('kitten', 'sitting'), 3);
    assert.equal(levenshteinDistance('', 'abc'), 3);
    assert.equal(levenshteinDistance('same', 'same'), 0);
  });

  test('closest match', () => {
    assert.equal(closestMatch('imagesize', ['imageSize', 'resizeTo']), 'imageSize');
    assert.equal(closestMatch('batchsze', ['epochs', 'batchSize']), 'batchSize');
    assert.equal(closestMatch('learningRate', ['epochs', 'batchSize']), undefined);
  });
});

describe('renderConfig', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('round trip of smoke config', () => {
    const loaded = loadConfig(path.join(repositoryRoot, 'configs/smoke.yaml'));
    const rendered = renderConfig(loaded.config);
    const reloaded = loadConfig(fixtures.write('rendered.yaml', rendered));
    assert.deepEqual(reloaded.config, loaded.config);
    assert.deepEqual(reloaded.warnings, []);
  });

  test('keys in schema order', () => {
    const loaded = loadConfig(fixtures.write('order.yaml', 'train:\n  epochs: 3\nname: demo\n'));
    const topKeys = renderConfig(loaded.config)
      .split('\n')
      .filter((line) => /^\w/.test(line))
      .map((line) => line.split(':')[0]);
    // Optional sections without a default, such as a sweep, are absent from this config.
    assert.deepEqual(topKeys, Object.keys(ExperimentSchema.properties).filter((key) => key in loaded.config));
    assert.deepEqual(topKeys.slice(0, 3), ['name', 'seed', 'backend']);
  });

  test('header comment and absolute paths', () => {
    const loaded = loadConfig(fixtures.write('header.yaml', 'name: demo\n'));
    const rendered = renderConfig(loaded.config, { header: 'Resolved config.\nSecond line.', configDir: loaded.dir });
    assert.ok(rendered.startsWith('# Resolved config.\n# Second line.\n'));
    const reloaded = loadConfig(fixtures.write('header-rendered.yaml', rendered));
    assert.equal(reloaded.config.data.root, path.resolve(fixtures.dir, '../../shared/data/vqa-rad'));
    assert.equal(reloaded.config.output.root, path.resolve(fixtures.dir, '../results'));
    assert.equal(loaded.config.data.root, '../../shared/data/vqa-rad');
  });

  test('null and small numbers survive', () => {
    const loaded = loadConfig(fixtures.write('values.yaml', 'name: demo\n'));
    const rendered = renderConfig(loaded.config);
    assert.match(rendered, /^ {2}maxImages: null$/m);
    const reloaded = loadConfig(fixtures.write('values-rendered.yaml', rendered));
    assert.equal(reloaded.config.train.others.epsilon, 1e-8);
    assert.equal(reloaded.config.train.cnn.weightDecay, 5e-4);
  });
});
