import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/problems.ts';
import { ExperimentSchema, RESIZE_MODES } from '../../src/config/schema.ts';
import { TandemError } from '../../src/errors.ts';
import { createFixtureFolder, loadError, type FixtureFolder } from './fixtures.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('loadConfig problems', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('wrong type points at the value', () => {
    const file = fixtures.write('wrong-type.yaml', 'name: demo\nseed: abc\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem.file, file);
    assert.equal(`${problem.line}:${problem.column}`, '2:7');
    assert.equal(problem.path, 'seed');
    assert.equal(problem.message, 'must be an integer');
    assert.equal(problem.found, '"abc" (a string)');
    assert.equal(problem.allowed, 'an integer from 0 to 4294967295');
    assert.equal(problem.severity, 'error');
  });

  test('out-of-range number', () => {
    const file = fixtures.write('out-of-range.yaml', 'name: demo\ndata:\n  imageSize: 8\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:14');
    assert.equal(problem.path, 'data.imageSize');
    assert.equal(problem.message, 'must be at least 16');
    assert.equal(problem.found, '8');
    assert.equal(problem.allowed, 'an integer from 16 to 1024');
  });

  test('range keywords name their limits', () => {
    const cases = [
      { yaml: 'model:\n  textDropRate: 1.5\n', path: 'model.textDropRate', message: 'must be at most 1' },
      { yaml: 'data:\n  split:\n    testFraction: 1\n', path: 'data.split.testFraction', message: 'must be less than 1' },
      { yaml: 'train:\n  cnn:\n    learningRate: 0\n', path: 'train.cnn.learningRate', message: 'must be greater than 0' },
      { yaml: 'data:\n  root: ""\n', path: 'data.root', message: 'must not be empty' },
    ];
    for (const [index, testCase] of cases.entries()) {
      const file = fixtures.write(`range-${index}.yaml`, `name: demo\n${testCase.yaml}`);
      const { problems } = loadError(file);
      assert.equal(problems.length, 1, testCase.path);
      assert.equal(problems[0].path, testCase.path);
      assert.equal(problems[0].message, testCase.message);
    }
  });

  test('misspelt key suggests the allowed key', () => {
    const file = fixtures.write('misspelt-key.yaml', 'name: demo\ndata:\n  imageSiz: 48\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:3');
    assert.equal(problem.path, 'data.imageSiz');
    assert.equal(problem.message, 'unknown key `imageSiz`');
    assert.equal(problem.fix, 'did you mean `imageSize`?');
    assert.match(problem.allowed ?? '', /^source, root, .*imageSize, resizeTo,/);
  });

  test('misspelt top-level key suggests the allowed key', () => {
    const file = fixtures.write('misspelt-top-key.yaml', 'name: demo\nseeed: 3\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '2:1');
    assert.equal(problem.path, 'seeed');
    assert.equal(problem.fix, 'did you mean `seed`?');
  });

  test('key in the wrong section names its section', () => {
    const file = fixtures.write('wrong-section.yaml', 'name: demo\nmodel:\n  epochs: 3\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:3');
    assert.equal(problem.message, 'unknown key `epochs`');
    assert.equal(problem.fix, 'move it to `train.epochs`');
  });

  test('dotted key names its section', () => {
    const file = fixtures.write('dotted-key.yaml', 'name: demo\ndata.imageSize: 48\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '2:1');
    assert.equal(problem.path, '["data.imageSize"]');
    assert.equal(problem.fix, 'YAML keys do not nest by dots: indent `imageSize` under the `data` section instead');
  });

  test('misspelt enum value suggests the allowed value', () => {
    const file = fixtures.write('misspelt-enum.yaml', 'name: demo\ndata:\n  resizeMode: contian\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:15');
    assert.equal(problem.path, 'data.resizeMode');
    assert.equal(problem.message, 'unknown value "contian"');
    assert.equal(problem.found, '"contian"');
    assert.equal(problem.allowed, `one of ${RESIZE_MODES.join(', ')}`);
    assert.equal(problem.fix, 'did you mean `contain`?');
  });

  test('unrelated enum value gets no suggestion', () => {
    const file = fixtures.write('unrelated-enum.yaml', 'name: demo\nbackend: quantum\n');
    const [problem] = loadError(file).problems;
    assert.equal(problem.message, 'unknown value "quantum"');
    assert.equal(problem.allowed, 'one of auto, tensorflow-gpu, tensorflow, wasm, cpu');
    assert.equal(problem.fix, undefined);
  });

  test('duplicate key points at the second one', () => {
    const file = fixtures.write('duplicate.yaml', 'name: demo\nseed: 1\ndata:\n  imageSize: 48\nseed: 2\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '5:1');
    assert.equal(problem.path, 'seed');
    assert.equal(problem.message, 'duplicate key `seed`');
    assert.equal(problem.found, '`seed` is already set on line 2');
  });

  test('nested duplicate key has its full path', () => {
    const file = fixtures.write('nested-duplicate.yaml', 'name: demo\ndata:\n  imageSize: 48\n  imageSize: 32\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '4:3');
    assert.equal(problem.path, 'data.imageSize');
    assert.equal(problem.found, '`imageSize` is already set on line 3');
  });

  test('tab in indentation', () => {
    const file = fixtures.write('tab.yaml', 'name: demo\ndata:\n\timageSize: 48\n');
    const error = loadError(file);
    assert.equal(error.problems.length, 1);
    const [problem] = error.problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:1');
    assert.equal(problem.path, '');
    assert.equal(problem.message, 'invalid YAML: tab character in indentation');
    assert.match(problem.fix ?? '', /^replace the tab with spaces/);
    assert.match(error.message, /The schema and cross-field checks run once the YAML syntax errors are fixed\.$/);
  });

  test('YAML syntax error', () => {
    const file = fixtures.write('syntax.yaml', 'name: demo\nseed: 1: 2\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '2:7');
    assert.equal(problem.message, 'invalid YAML: nested mappings are not allowed in compact mappings');
  });

  test('two problems reported together', () => {
    const file = fixtures.write('two-problems.yaml', 'name: demo\nseed: abc\ndata:\n  imageSiz: 48\n');
    const error = loadError(file);
    assert.deepEqual(
      error.problems.map((problem) => `${problem.line}:${problem.column} ${problem.path}`),
      ['2:7 seed', '4:3 data.imageSiz'],
    );
    const expected = [
      `${file}:2:7  seed  must be an integer  [type]`,
      '  2 | seed: abc',
      '    |       ^',
      '  found: "abc" (a string)',
      '  allowed: an integer from 0 to 4294967295',
      '',
      `${file}:4:3  data.imageSiz  unknown key \`imageSiz\`  [unknown-key]`,
      '  4 |   imageSiz: 48',
      '    |   ^',
      `  allowed: ${Object.keys(ExperimentSchema.properties.data.properties).join(', ')}`,
      '  fix: did you mean `imageSize`?',
      '',
      `${file}: 2 errors`,
    ].join('\n');
    assert.equal(error.message, expected);
  });

  test('missing required key points at the mapping', () => {
    const file = fixtures.write('missing-name.yaml', '# no name\n\nseed: 3\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:1');
    assert.equal(problem.path, 'name');
    assert.equal(problem.message, 'missing required key `name`');
    assert.match(problem.fix ?? '', /^add a `name` key to this mapping: experiment name/);
  });

  test('empty file reports the missing name', () => {
    const file = fixtures.write('empty.yaml', '');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '1:1');
    assert.equal(problem.message, 'missing required key `name`');
  });

  test('document that is not a mapping', () => {
    const file = fixtures.write('scalar.yaml', 'just text\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '1:1');
    assert.equal(problem.path, '');
    assert.equal(problem.message, 'must be a mapping of keys to values');
  });

  test('empty section points at its key', () => {
    const file = fixtures.write('empty-section.yaml', 'name: demo\ndata:\n  augment:\n');
    const [problem] = loadError(file).problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:3');
    assert.equal(problem.path, 'data.augment');
    assert.equal(problem.message, 'must be a mapping of keys to values');
    assert.equal(problem.found, 'null (no value)');
    assert.match(problem.fix ?? '', /write `augment: \{\}`/);
  });

  test('integer-or-null field', () => {
    const tooSmall = loadError(fixtures.write('max-images-small.yaml', 'name: demo\ndata:\n  maxImages: 2\n'));
    assert.equal(tooSmall.problems.length, 1);
    assert.equal(tooSmall.problems[0].message, 'must be at least 3');
    assert.equal(tooSmall.problems[0].allowed, 'an integer of at least 3 or null');

    const wrongType = loadError(fixtures.write('max-images-text.yaml', 'name: demo\ndata:\n  maxImages: many\n'));
    assert.equal(wrongType.problems.length, 1);
    assert.equal(wrongType.problems[0].message, 'must be an integer or null');

    const loaded = loadConfig(fixtures.write('max-images-null.yaml', 'name: demo\ndata:\n  maxImages: null\n'));
    assert.equal(loaded.config.data.maxImages, null);
  });

  test('type fixes for quoted numbers and yes', () => {
    const file = fixtures.write('type-fixes.yaml', 'name: demo\ntrain:\n  batchSize: "16"\nmodel:\n  skipConnection: yes\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 2);
    assert.equal(problems[0].path, 'train.batchSize');
    assert.equal(problems[0].fix, 'write it as a plain number: `batchSize: 16`');
    assert.equal(problems[1].path, 'model.skipConnection');
    assert.equal(`${problems[1].line}:${problems[1].column}`, '5:19');
    assert.equal(problems[1].fix, 'write true or false: YAML 1.2 reads `yes` as a string, not as a boolean');
  });

  test('name pattern suggests a valid name', () => {
    const [problem] = loadError(fixtures.write('name-pattern.yaml', 'name: "my run"\n')).problems;
    assert.equal(problem.message, 'must match the pattern ^[A-Za-z0-9][A-Za-z0-9._-]*$');
    assert.equal(problem.fix, 'replace the other characters, for example with `my-run`');
  });

  test('flow mapping value position', () => {
    const [problem] = loadError(fixtures.write('flow.yaml', 'name: demo\nmodel:\n  backbone: {depth: 4}\n')).problems;
    assert.equal(`${problem.line}:${problem.column}`, '3:21');
    assert.equal(problem.path, 'model.backbone.depth');
  });

  test('config error exit code and type', () => {
    const error = loadError(fixtures.write('exit-code.yaml', 'seed: 3\n'));
    assert.ok(error instanceof TandemError);
    assert.equal(error.exitCode, 2);
    assert.equal(error.name, 'ConfigError');
  });

  test('missing file names the path and fix', () => {
    const file = path.join(fixtures.dir, 'does-not-exist.yaml');
    const error = loadError(file);
    assert.equal(error.exitCode, 2);
    assert.equal(error.problems.length, 1);
    assert.equal(error.problems[0].line, 0);
    assert.equal(error.problems[0].message, 'config file not found');
    assert.equal(error.problems[0].code, 'file-not-found');
    assert.ok(error.message.startsWith(`${file}  config file not found  [file-not-found]\n`));
    assert.match(error.message, /fix: check the path, which is relative to the working directory /);
  });

  test('folder instead of a file', () => {
    const error = loadError(fixtures.dir);
    assert.equal(error.problems[0].message, 'is a folder, not a config file');
  });
});

describe('loadConfig results', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test('defaults fill nested sections', () => {
    const loaded = loadConfig(fixtures.write('minimal.yaml', 'name: demo\n'));
    const { config } = loaded;
    assert.equal(config.seed, 1234);
    assert.equal(config.backend, 'auto');
    assert.equal(config.data.maxImages, null);
    assert.equal(config.data.imageSize, 64);
    assert.equal(config.data.split.testFraction, 0.2);
    assert.equal(config.data.augment.crop, true);
    assert.equal(config.model.backbone.depth, 16);
    assert.equal(config.model.attention.variant, 'joint');
    assert.equal(config.train.cnn.weightDecay, 5e-4);
    assert.equal(config.train.others.epsilon, 1e-8);
    assert.equal(config.output.root, '../results');
    assert.deepEqual(loaded.warnings, []);
  });

  test('defaults fill around given values', () => {
    const text = 'name: demo\ndata:\n  imageSize: 48\n  augment:\n    mirror: false\nmodel:\n  backbone:\n    depth: 10\n';
    const { config } = loadConfig(fixtures.write('partial.yaml', text));
    assert.equal(config.data.imageSize, 48);
    assert.equal(config.data.resizeTo, 72);
    assert.equal(config.data.augment.mirror, false);
    assert.equal(config.data.augment.crop, true);
    assert.equal(config.data.augment.rotationDegrees, 10);
    assert.equal(config.data.split.validationFraction, 0.2);
    assert.equal(config.model.backbone.depth, 10);
    assert.equal(config.model.backbone.widenFactor, 4);
    assert.equal(config.model.text.hiddenSize, 256);
  });

  test('empty section mapping gets its defaults', () => {
    const { config } = loadConfig(fixtures.write('empty-mapping.yaml', 'name: demo\ntrain: {}\n'));
    assert.equal(config.train.epochs, 20);
    assert.equal(config.train.others.beta1, 0.8);
  });

  test('file and folder are absolute', () => {
    const file = fixtures.write('paths.yaml', 'name: demo\n');
    const loaded = loadConfig(path.relative(process.cwd(), file));
    assert.equal(loaded.file, file);
    assert.equal(loaded.dir, fixtures.dir);
  });

  test('vqa-rad config loads', () => {
    const loaded = loadConfig(path.join(repositoryRoot, 'configs/vqa-rad.yaml'));
    assert.deepEqual(loaded.warnings, []);
    const { config } = loaded;
    assert.equal(config.name, 'vqa-rad');
    assert.equal(config.seed, 1234);
    assert.equal(config.data.root, '../../shared/data/vqa-rad');
    assert.equal(config.data.imageSize, 64);
    assert.equal(config.data.resizeTo, 72);
    assert.equal(config.model.backbone.depth, 16);
    assert.equal(config.model.backbone.widenFactor, 4);
    assert.equal(config.model.textDropRate, 0.5);
    assert.equal(config.train.epochs, 20);
    assert.equal(config.train.batchSize, 16);
  });

  test('smoke config loads', () => {
    const loaded = loadConfig(path.join(repositoryRoot, 'configs/smoke.yaml'));
    assert.deepEqual(loaded.warnings, []);
    const { config } = loaded;
    assert.equal(config.name, 'smoke');
    assert.equal(config.data.maxImages, 24);
    assert.equal(config.data.imageSize, 32);
    assert.equal(config.data.resizeTo, 36);
    assert.equal(config.data.maxSentences, 6);
    assert.equal(config.data.maxSentenceTokens, 12);
    assert.equal(config.model.backbone.depth, 10);
    assert.equal(config.model.backbone.widenFactor, 1);
    assert.equal(config.model.text.embeddingSize, 16);
    assert.equal(config.model.text.hiddenSize, 16);
    assert.equal(config.model.attention.size, 16);
    assert.equal(config.train.epochs, 2);
    assert.equal(config.train.batchSize, 8);
  });
});

test('ConfigError keeps its problems', () => {
  const problem = {
    code: 'type' as const,
    file: 'a.yaml',
    line: 1,
    column: 1,
    path: 'seed',
    message: 'must be an integer',
    severity: 'error' as const,
  };
  const error = new ConfigError([problem]);
  assert.deepEqual(error.problems, [problem]);
  assert.equal(error.message, 'a.yaml:1:1  seed  must be an integer  [type]\n\na.yaml: 1 error');
});
