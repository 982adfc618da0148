import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import {
  checkBackboneDepth,
  checkBackboneFieldsMatchType,
  checkBackboneWeightsExist,
  checkImageSizeCoversStride,
  checkResizeToCoversImageSize,
  checkTextDropRate,
  checkWasmBatchMemory,
  runCrossFieldChecks,
} from '../../src/config/checks.ts';
import { estimateWasmTrainingStep, WASM_HEAP_LIMIT_BYTES } from '../../src/config/memory.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFixtureFolder, loadError, type FixtureFolder } from './fixtures.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
    const wrn = (depth: number) =>
      configWith({}, { backbone: { ...defaults.model.backbone, depth } as ExperimentConfig['model']['backbone'] });
    for (const depth of [10, 16, 22, 28, 40]) {
      assert.deepEqual(checkBackboneDepth(wrn(depth)), [], `depth ${depth}`);
    }
    const [tooShallow] = checkBackboneDepth(wrn(4));
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
    const context = { configDir: fixtures.dir };
    assert.equal(runCrossFieldChecks(broken, ['data.resizeTo'], context).length, 0);
    assert.equal(runCrossFieldChecks(broken, ['data'], context).length, 0);
    const findings = runCrossFieldChecks(broken, ['model.backbone.depth'], context);
    assert.deepEqual(
      findings.map((finding) => finding.check),
      ['resize-to-below-image-size'],
    );
  });
  test('textDropRate 1 with image-only model', () => {
    assert.deepEqual(checkTextDropRate(configWith({}, { textDropRate: 1, type: 'image-only' })), []);
  });

  test('weights file missing or a folder', () => {
    const resnet = (weights: string | null) =>
      configWith({}, { backbone: { type: 'resnet18', weights } as ExperimentConfig['model']['backbone'] });
    const at = (kind: 'file' | 'folder' | 'missing') => ({ configDir: '/configs', pathKind: () => kind });
    assert.deepEqual(checkBackboneWeightsExist(resnet('w.safetensors'), at('file')), []);
    assert.deepEqual(checkBackboneWeightsExist(resnet(null), at('missing')), []);
    assert.deepEqual(checkBackboneWeightsExist(defaults, at('missing')), []);

    const [missing] = checkBackboneWeightsExist(resnet('w.safetensors'), at('missing'));
    assert.deepEqual(missing.path, ['model', 'backbone', 'weights']);
    assert.equal(missing.message, 'the pretrained weights file was not found: /configs/w.safetensors');
    assert.equal(missing.severity, 'error');
    const [folder] = checkBackboneWeightsExist(resnet('w.safetensors'), at('folder'));
    assert.equal(folder.message, 'the pretrained weights path is a folder, not a file: /configs/w.safetensors');
  });

  test('weights path relative to its base file', () => {
    fixtures.write('weights/base/resnet.safetensors', 'not real weights');
    fixtures.write('weights/base/resnet.yaml', 'model:\n  backbone:\n    type: resnet18\n    weights: resnet.safetensors\n');
    const loaded = loadConfig(fixtures.write('weights/experiment.yaml', 'extends: base/resnet.yaml\nname: demo\n'));
    assert.deepEqual(loaded.warnings, []);
    const backbone = loaded.config.model.backbone as { weights?: string };
    assert.equal(backbone.weights, path.join('base', 'resnet.safetensors'));
  });

  test('backbone key of another type', () => {
    const mixed = configWith({}, { backbone: { type: 'resnet18', weights: null, depth: 16 } as unknown as ExperimentConfig['model']['backbone'] });
    const findings = checkBackboneFieldsMatchType(mixed);
    assert.equal(findings.length, 1);
    assert.deepEqual(findings[0].path, ['model', 'backbone', 'depth']);
    assert.equal(findings[0].message, '`depth` applies only to backbone type wrn, but model.backbone.type is resnet18');
    assert.match(findings[0].fix ?? '', /^delete `depth`, or set model\.backbone\.type to wrn\. Where a base config sets it, tag the backbone `!replace`/);
    assert.deepEqual(checkBackboneFieldsMatchType(defaults), []);
  });

  test('wasm memory estimate grows with the batch', () => {
    const small = estimateWasmTrainingStep({ ...defaults, train: { ...defaults.train, batchSize: 8 } });
    const large = estimateWasmTrainingStep({ ...defaults, train: { ...defaults.train, batchSize: 64 } });
    assert.equal(small.perSampleBytes, large.perSampleBytes);
    assert.equal(large.totalBytes - small.totalBytes, 56 * small.perSampleBytes);
    const bigger = estimateWasmTrainingStep(configWith({ imageSize: 128, resizeTo: 144 }));
    assert.ok(bigger.perSampleBytes > small.perSampleBytes);
    const imageOnly = estimateWasmTrainingStep(configWith({}, { type: 'image-only' }));
    assert.ok(imageOnly.perSampleBytes < small.perSampleBytes);
  });

  test('wasm batch limit is the largest batch that fits', () => {
    const wide = configWith({ imageSize: 256, resizeTo: 288 });
    const { largestBatch } = estimateWasmTrainingStep(wide);
    assert.ok(largestBatch >= 1, `largest batch ${largestBatch}`);
    assert.ok(largestBatch < 4096, `largest batch ${largestBatch}`);
    const withBatch = (batchSize: number, backend: ExperimentConfig['backend']): ExperimentConfig => ({
      ...wide,
      backend,
      train: { ...wide.train, batchSize },
    });
    assert.ok(estimateWasmTrainingStep(withBatch(largestBatch, 'wasm')).totalBytes <= WASM_HEAP_LIMIT_BYTES);
    assert.deepEqual(checkWasmBatchMemory(withBatch(largestBatch, 'wasm')), []);

    // With train.microBatchSize auto, a larger batch runs as micro-batches: a warning, not an error.
    const [tooLarge] = checkWasmBatchMemory(withBatch(largestBatch + 1, 'wasm'));
    assert.deepEqual(tooLarge.path, ['train', 'batchSize']);
    assert.equal(tooLarge.severity, 'warning');
    assert.match(tooLarge.message, new RegExp(`runs as micro-batches of at most ${largestBatch} samples`));
    assert.match(tooLarge.fix ?? '', new RegExp(`^set train.batchSize to ${largestBatch} or less`));
    const [onAuto] = checkWasmBatchMemory(withBatch(largestBatch + 1, 'auto'));
    assert.equal(onAuto.severity, 'warning');
    assert.deepEqual(checkWasmBatchMemory(withBatch(largestBatch + 1, 'tensorflow')), []);

    // An explicit micro-batch size is checked against the heap instead.
    const withMicroBatch = (microBatchSize: number, backend: ExperimentConfig['backend']): ExperimentConfig => ({
      ...wide,
      backend,
      train: { ...wide.train, batchSize: largestBatch * 4, microBatchSize },
    });
    assert.deepEqual(checkWasmBatchMemory(withMicroBatch(largestBatch, 'wasm')), []);
    const [microTooLarge] = checkWasmBatchMemory(withMicroBatch(largestBatch + 1, 'wasm'));
    assert.deepEqual(microTooLarge.path, ['train', 'microBatchSize']);
    assert.equal(microTooLarge.severity, 'error');
    assert.equal(microTooLarge.fix, `set train.microBatchSize to ${largestBatch} or less, or to auto`);
    assert.equal(checkWasmBatchMemory(withMicroBatch(largestBatch + 1, 'auto'))[0].severity, 'warning');
  });

  test('wasm step too large for a batch of one', () => {
    const huge = configWith({ imageSize: 2048, resizeTo: 2048 });
    assert.equal(estimateWasmTrainingStep(huge).largestBatch, 0);
    const [finding] = checkWasmBatchMemory({ ...huge, backend: 'wasm' });
    assert.equal(finding.severity, 'error');
    assert.equal(finding.allowed, 'no batch size with these sizes');
  });

  test('shipped batch sizes fit wasm', () => {
    for (const name of ['vqa-rad.yaml', 'smoke.yaml']) {
      const { config } = loadConfig(path.join(repositoryRoot, 'configs', name));
      assert.deepEqual(checkWasmBatchMemory({ ...config, backend: 'wasm' }), [], name);
    }
  });
});
