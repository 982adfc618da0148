import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import {
  checkBackboneDepth,
  checkImageSizeCoversStride,
  checkResizeToCoversImageSize,
  checkTextDropRate,
  runCrossFieldChecks,
} from '../../src/config/checks.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { createFixtureFolder, loadError, type FixtureFolder } from './fixtures.ts';

describe('cross-field checks', () => {
  let fixtures: FixtureFolder;
  let defaults: ExperimentConfig;
  before(() => {
    fixtures = createFixtureFolder();
    defaults = loadConfig(fixtures.write('defaults.yaml', 'name: demo\n')).config;
  });
  after(() => fixtures.remove());

  /** Returns the default config with some `data` and `model` fields replaced. */
  function configWith(data: Partial<ExperimentConfig['data']>, model: Partial<ExperimentConfig['model']> = {}): ExperimentConfig {
    return { ...defaults, data: { ...defaults.data, ...data }, model: { ...defaults.model, ...model } };
  }

  test('resizeTo below imageSize', () => {
    const file = fixtures.write('resize.yaml', 'name: demo\ndata:\n  imageSize: 64\n  resizeTo: 60\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '4:13');
    assert.equal(problem.path, 'data.resizeTo');
    assert.equal(problem.message, 'must be at least data.imageSize (64), the side of the crop taken from the resized image');
    assert.equal(problem.found, 'resizeTo 60, imageSize 64');
    assert.equal(problem.severity, 'error');
    assert.deepEqual(checkResizeToCoversImageSize(configWith({ imageSize: 64, resizeTo: 64 })), []);
  });

  test('resizeTo default points at data mapping', () => {
    // resizeTo is not in the file, so the problem points at the data mapping that would hold it.
    const { problems } = loadError(fixtures.write('resize-default.yaml', 'name: demo\ndata:\n  imageSize: 128\n'));
    assert.equal(problems.length, 1);
    assert.equal(`${problems[0].line}:${problems[0].column}`, '3:3');
    assert.equal(problems[0].path, 'data.resizeTo');
  });

  test('backbone depth not 6n + 4', () => {
    const file = fixtures.write('depth.yaml', 'name: demo\nmodel:\n  backbone:\n    depth: 18\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(`${problem.line}:${problem.column}`, '4:12');
    assert.equal(problem.path, 'model.backbone.depth');
    assert.equal(problem.message, 'WRN depth must be 6n + 4 with n >= 1 residual blocks per group');
    assert.equal(problem.fix, 'use 16 or 22');
  });

  test('backbone depth valid values', () => {
    for (const depth of [10, 16, 22, 28, 40]) {
      assert.deepEqual(checkBackboneDepth(configWith({}, { backbone: { ...defaults.model.backbone, depth } })), [], `depth ${depth}`);
    }
    const [tooShallow] = checkBackboneDepth(configWith({}, { backbone: { ...defaults.model.backbone, depth: 4 } }));
    assert.equal(tooShallow.fix, 'use 10');
  });

  test('imageSize below backbone stride', () => {
    // The schema minimum of imageSize equals the WRN stride, so only a config built in code reaches this.
    const findings = checkImageSizeCoversStride(configWith({ imageSize: 8, resizeTo: 8 }));
    assert.equal(findings.length, 1);
    assert.deepEqual(findings[0].path, ['data', 'imageSize']);
    assert.equal(findings[0].message, 'is smaller than the total stride 16 of the wrn backbone, so its feature map would be empty');
    assert.equal(findings[0].severity, 'error');
    assert.deepEqual(checkImageSizeCoversStride(configWith({ imageSize: 16, resizeTo: 16 })), []);
  });

  test('textDropRate 1 is a warning', () => {
    const file = fixtures.write('text-drop.yaml', 'name: demo\nmodel:\n  textDropRate: 1\n');
    const loaded = loadConfig(file);
    assert.equal(loaded.warnings.length, 1);
    const [warning] = loaded.warnings;
    assert.equal(`${warning.line}:${warning.column}`, '3:17');
    assert.equal(warning.path, 'model.textDropRate');
    assert.equal(warning.severity, 'warning');
    assert.equal(warning.message, 'the model never sees text in training, because textDropRate 1 drops the text of every batch');
    assert.match(warning.fix ?? '', /accuracyWithText, which equals accuracyWithoutText because scaleTextAtTest/);
  });

  test('textDropRate 1 without test-time scaling', () => {
    const [finding] = checkTextDropRate(configWith({}, { textDropRate: 1, scaleTextAtTest: false }));
    assert.match(finding.fix ?? '', /feeds the model text it was never trained on$/);
    assert.deepEqual(checkTextDropRate(configWith({}, { textDropRate: 0.99 })), []);
  });

  test('warning printed with errors', () => {
    const file = fixtures.write('warning-and-error.yaml', 'name: demo\nseed: -1\nmodel:\n  textDropRate: 1\n');
    const error = loadError(file);
    assert.deepEqual(
      error.problems.map((problem) => problem.severity),
      ['error', 'warning'],
    );
    assert.match(error.message, /:4:17  model\.textDropRate  warning: the model never sees text/);
    assert.match(error.message, /: 1 error, 1 warning$/);
  });

  test('check skipped when its input is invalid', () => {
    const file = fixtures.write('skipped.yaml', 'name: demo\ndata:\n  resizeTo: abc\n');
    const { problems } = loadError(file);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].message, 'must be an integer');
    const broken = configWith({ imageSize: 64, resizeTo: 8 });
    assert.equal(runCrossFieldChecks(broken, ['data.resizeTo']).length, 0);
    assert.equal(runCrossFieldChecks(broken, ['data']).length, 0);
    assert.equal(runCrossFieldChecks(broken, ['model.backbone.depth']).length, 1);
  });
});
