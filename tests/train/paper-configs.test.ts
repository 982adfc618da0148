import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { selectBackend } from '../../src/backend/select.ts';
import { checkConfig, loadConfig } from '../../src/config/load.ts';
import type { ExperimentConfig } from '../../src/config/schema.ts';
import { buildModel } from '../../src/model/model.ts';
import { Random } from '../../src/random.ts';
import { Trainer } from '../../src/train/train.ts';
import { tinyData } from '../helpers/tiny-data.ts';

const PAPER = new URL('../../configs/paper/', import.meta.url).pathname;
const SHIPPED_WEIGHTS = new URL('../../weights/resnet18.safetensors', import.meta.url).pathname;

/** Each row of Table 1 and the settings that make it that row. */
const ROWS = [
  { file: 'wrn16-4.yaml', type: 'image-only', backbone: 'wrn', skipConnection: true },
  { file: 'resnet18-tl.yaml', type: 'image-only', backbone: 'resnet18', skipConnection: true },
  { file: 'tandemnet-wvs.yaml', type: 'tandem', backbone: 'wrn', skipConnection: false },
  { file: 'tandemnet.yaml', type: 'tandem', backbone: 'wrn', skipConnection: true },
  { file: 'tandemnet-tl.yaml', type: 'tandem', backbone: 'resnet18', skipConnection: true },
] as const;

/** Returns the sizes of configs/smoke.yaml as `--set` options; a ResNet-18 row trains from scratch here. */
function smokeOverrides(backbone: 'wrn' | 'resnet18'): string[] {
  const sizes = [
    'data.imageSize=32',
    'data.resizeTo=36',
    'data.maxSentences=6',
    'data.maxSentenceTokens=12',
    'model.text.embeddingSize=16',
    'model.text.hiddenSize=16',
    'model.attention.size=16',
    'train.epochs=1',
    'train.batchSize=8',
  ];
  const backboneSizes = backbone === 'wrn' ? ['model.backbone.depth=10', 'model.backbone.widenFactor=1'] : ['model.backbone.weights=null'];
  return [...sizes, ...backboneSizes];
}

let folder: string;
before(async () => {
  folder = mkdtempSync(path.join(tmpdir(), 'tandem-paper-'));
  // The pure JavaScript cpu backend takes minutes per ResNet-18 step; wasm takes about a second.
  await selectBackend('wasm');
});
after(() => rmSync(folder, { recursive: true, force: true }));

describe('paper configs', () => {
  for (const row of ROWS) {
    test(`${row.file} sets its row`, () => {
      const overrides = row.backbone === 'resnet18' ? [`model.backbone.weights=${path.join(folder, 'present.safetensors')}`] : [];
      writeFileSync(path.join(folder, 'present.safetensors'), '');
      const { config } = loadConfig(path.join(PAPER, row.file), { overrides });
      assert.equal(config.model.type, row.type);
      assert.equal(config.model.backbone.type, row.backbone);
      assert.equal(config.model.skipConnection, row.skipConnection);
      if (config.model.backbone.type === 'wrn') {
        assert.equal(config.model.backbone.depth, 16);
        assert.equal(config.model.backbone.widenFactor, 4);
      } else {
        assert.equal(config.train.parts.cnn.learningRateScale, 0.1);
      }
      assert.equal(config.train.epochs, 20);
      assert.equal(config.model.textDropRate, 0.5);
    });
  }

  test('base matches the default experiment', () => {
    const rowConfig = loadConfig(path.join(PAPER, 'tandemnet.yaml')).config;
    const defaultConfig = loadConfig(new URL('../../configs/vqa-rad.yaml', import.meta.url).pathname).config;
    const withoutNames = (config: ExperimentConfig) => ({ ...config, name: '', output: null, data: { ...config.data, root: '' } });
    assert.deepEqual(withoutNames(rowConfig), withoutNames(defaultConfig));
    assert.equal(path.resolve(PAPER, rowConfig.data.root), path.resolve(PAPER, '..', defaultConfig.data.root));
  });

  for (const file of ['resnet18-tl.yaml', 'tandemnet-tl.yaml']) {
    test(`${file} without weights fails the check`, () => {
      const absent = path.join(folder, 'absent.safetensors');
      const { config, problems } = checkConfig(path.join(PAPER, file), { overrides: [`model.backbone.weights=${absent}`] });
      assert.equal(config, undefined);
      const errors = problems.filter((problem) => problem.severity === 'error');
      assert.equal(errors.length, 1);
      assert.equal(errors[0].path, 'model.backbone.weights');
      assert.equal(errors[0].code, 'cross-field/backbone-weights-missing');
      assert.match(errors[0].message, new RegExp(`not found: ${absent}`));
      if (!existsSync(SHIPPED_WEIGHTS)) {
        const shipped = checkConfig(path.join(PAPER, file)).problems.filter((problem) => problem.severity === 'error');
        assert.deepEqual(shipped.map((problem) => problem.path), ['model.backbone.weights']);
      }
    });
  }

  for (const row of ROWS) {
    test(`${row.file} trains one epoch at smoke size`, async () => {
      const { config } = loadConfig(path.join(PAPER, row.file), { overrides: smokeOverrides(row.backbone) });
      const data = tinyData(config, 3);
      const random = new Random(config.seed);
      const model = buildModel(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: 6 }, random);
      const trainer = new Trainer({ config, data, model, random, emit: () => {} });
      const result = await trainer.run();
      trainer.dispose();
      assert.equal(result.history.length, 1);
      assert.ok(Number.isFinite(result.history[0].trainLoss));
      assert.equal(result.history[0].validation.accuracyWithText === null, row.type === 'image-only');
      model.dispose();
    });
  }
});
