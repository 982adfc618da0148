/**
 * The whole analysis on a tiny untrained model, then report.html opened in headless Chromium. The page
 * test needs Debian's `chromium` package: .ci/run installs it, so under CI=true a missing browser fails
 * the test; elsewhere the test is skipped with a message.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { writeAnalysis, type AnalysisSummary } from '../../src/analysis/index.ts';
import { attentionStatistics } from '../../src/analysis/attention-statistics.ts';
import { RUN_FILES, RunFolder, type RunFile } from '../../src/artifacts/files.ts';
import { writeConfusionMatrices } from '../../src/artifacts/results.ts';
import { renderConfig } from '../../src/config/render.ts';
import { predict, type Predictions } from '../../src/evaluate/evaluate.ts';
import type { TandemEvent } from '../../src/events.ts';
import { TandemNet } from '../../src/model/tandem-net.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig, tinyData } from '../helpers/tiny-data.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The files that writeAnalysis adds to a run folder, besides the confusion tables written before it. */
const ANALYSIS_FILES: RunFile[] = [
  'confusionWithoutTextSpec',
  'confusionWithoutTextSvg',
  'confusionWithoutTextPng',
  'confusionWithTextSpec',
  'confusionWithTextSvg',
  'confusionWithTextPng',
  'tsneWithoutText',
  'tsneWithoutTextSpec',
  'tsneWithoutTextSvg',
  'tsneWithoutTextPng',
  'tsneWithText',
  'tsneWithTextSpec',
  'tsneWithTextSvg',
  'tsneWithTextPng',
  'attentionStatistics',
  'attentionByTypeCsv',
  'attentionShareCsv',
  'attentionByTypeSpec',
  'attentionByTypeSvg',
  'attentionByTypePng',
  'attentionRelativeByTypeSpec',
  'attentionRelativeByTypeSvg',
  'attentionRelativeByTypePng',
  'attentionMaps',
  'attentionMapsFolder',
  'analysis',
  'report',
];

const config = tinyConfig({
  data: { imageSize: 32, resizeTo: 36 },
  analysis: { attentionMaps: 4, tsne: { iterations: 100 } },
});
const data = tinyData(config, 4);
const events: TandemEvent[] = [];
let folder: RunFolder;
let summary: AnalysisSummary;
let withoutText: Predictions;
let withText: Predictions;

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const model = new TandemNet(config.model, { vocabularySize: data.vocabulary.size, classes: 3, sentences: config.data.maxSentences }, new Random(3));
  withoutText = predict(model, data.test, data, config, false);
  withText = predict(model, data.test, data, config, true);
  model.dispose();

  folder = RunFolder.create(mkdtempSync(path.join(os.tmpdir(), 'tandem-analysis-')), 'tiny', new Date());
  folder.writeText('config', renderConfig(config));
  folder.writeJson('run', { status: 'running', experiment: 'tiny', seed: config.seed, command: ['tandem', 'run', 'tiny.yaml'] });
  const { matrices, reports } = writeConfusionMatrices(folder, data.classes, withoutText, withText);
  summary = await writeAnalysis({
    folder,
    config,
    data,
    withoutText,
    withText,
    matrices,
    reports,
    bestEpoch: 1,
    emit: (event) => events.push(event),
  });
});

describe('analysis files', () => {
  test('writes every analysis file', () => {
    for (const file of ANALYSIS_FILES) assert.ok(folder.has(file), `${RUN_FILES[file].name} missing`);
    for (const event of events) {
      assert.equal(event.type, 'artifact-written');
      if (event.type === 'artifact-written') assert.ok(existsSync(event.path), `${event.path} was announced but not written`);
    }
    assert.ok(!readdirSync(folder.dir).some((name) => name.endsWith('.tmp')), 'no temporary file is left behind');
  });

  test('rate tables hold the row rates', () => {
    const rates = readFileSync(folder.path('confusionWithTextRatesCsv'), 'utf8').trim().split('\n');
    assert.equal(rates[0], 'true \\ predicted,ABD,CHEST,HEAD');
    for (const row of rates.slice(1)) {
      const sum = row.split(',').slice(1).map(Number).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `row ${row} does not sum to 1`);
    }
  });

  test('t-SNE tables list each test image with its prediction', () => {
    const rows = readFileSync(folder.path('tsneWithText'), 'utf8').trim().split('\n');
    assert.equal(rows[0], 'image,label,prediction,x,y');
    assert.equal(rows.length, data.test.length + 1);
    rows.slice(1).forEach((row, i) => {
      const [image, label, prediction, x, y] = row.split(',');
      assert.equal(image, data.test[i].id);
      assert.equal(label, data.test[i].labelName);
      assert.equal(prediction, data.classes[withText.predictions[i]]);
      assert.ok(Number.isFinite(Number(x)), `x of ${row}`);
      assert.ok(Number.isFinite(Number(y)), `y of ${row}`);
    });
    assert.equal(summary.tsne.withText!.perplexity, (data.test.length - 1) / 3);
  });

  test('attention statistics come from the predictions', () => {
    const written = JSON.parse(readFileSync(folder.path('attentionStatistics'), 'utf8'));
    assert.deepEqual(written, JSON.parse(JSON.stringify(attentionStatistics(withoutText, withText, data.classes))));
    const table = readFileSync(folder.path('attentionByTypeCsv'), 'utf8').trim().split('\n');
    assert.equal(table[0], 'label,sentence_type,mean_weight,mean_relative_weight,sentences,images');
    assert.equal(table.length, 1 + data.classes.length * written.sentenceTypes.length);
  });

  test('attention maps index their pictures and weights', () => {
    const index = JSON.parse(readFileSync(folder.path('attentionMaps'), 'utf8'));
    assert.deepEqual(index.featureMap, { height: 2, width: 2 });
    assert.equal(index.images.length, 4);
    for (const entry of index.images) {
      for (const file of Object.values(entry.files) as string[]) assert.ok(existsSync(path.join(folder.dir, file)), `${file} missing`);
      const i = data.test.findIndex((sample) => sample.id === entry.image);
      assert.deepEqual(entry.imageWeightsWithText.flat(), Array.from(withText.imageWeights.subarray(i * 4, i * 4 + 4), (v) => Number(v.toPrecision(6))));
      assert.deepEqual(
        entry.sentences.map((s: { type: string }) => s.type),
        data.test[i].sentences.map((s) => s.type),
      );
    }
    assert.equal(readdirSync(folder.path('attentionMapsFolder')).length, 4 * 3);
  });
});

describe('report page', () => {
  const chromiumMissing = !existsSync(CHROMIUM);
  const skip = chromiumMissing && !process.env.CI ? `${CHROMIUM} not found; install Debian's chromium package to run this test` : false;
  test('opens from disk in headless Chromium with every image loaded', { skip }, async (t) => {
    assert.ok(!chromiumMissing, `${CHROMIUM} not found. CI installs it with .ci/run; run: apt-get install -y chromium`);
    // A fresh profile, so no state of an earlier browser run can change the page.
    const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'tandem-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));

      const reportUrl = pathToFileURL(folder.path('report')).href;
      await page.goto(reportUrl, { waitUntil: 'load' });
      const images = await page.evaluate(() =>
        Array.from(document.images, (image) => ({ alt: image.alt, complete: image.complete, width: image.naturalWidth })),
      );
      const screenshot = path.join(path.dirname(folder.dir), 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`screenshot: ${screenshot}`);

      // 2 confusion matrices, 2 t-SNE plots, 2 attention heat maps and 3 pictures per attention map.
      assert.equal(images.length, 6 + 3 * 4);
      for (const image of images) {
        assert.ok(image.complete, `image "${image.alt}" did not finish loading`);
        assert.ok(image.width > 0, `image "${image.alt}" has no pixels`);
      }
      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(
        requests.filter((url) => url !== reportUrl && !url.startsWith('data:')),
        [],
        'the page requests nothing beyond itself and its data URLs',
      );
      assert.ok(existsSync(screenshot), `screenshot ${screenshot} was not saved`);
      const text = await page.textContent('body');
      for (const heading of ['Test metrics', 'Confusion matrices', 't-SNE', 'Attention statistics', 'Image attention maps', 'Config', 'Provenance']) {
        assert.ok(text!.includes(heading), `section "${heading}" missing`);
      }
      assert.ok(text!.includes('tandem run tiny.yaml'), 'the provenance shows the command');
    } finally {
      await context.close();
    }
  });
});

describe('analysis without text', () => {
  test('model that reads no text gets no with-text files', async () => {
    const imageOnly = RunFolder.create(mkdtempSync(path.join(os.tmpdir(), 'tandem-analysis-')), 'tiny', new Date());
    imageOnly.writeText('config', renderConfig(config));
    imageOnly.writeJson('run', { status: 'running', experiment: 'tiny', seed: config.seed });
    const { matrices, reports } = writeConfusionMatrices(imageOnly, data.classes, withoutText, null);
    const result = await writeAnalysis({
      folder: imageOnly,
      config,
      data,
      withoutText,
      withText: null,
      matrices,
      reports,
      bestEpoch: 1,
      emit: () => {},
    });

    assert.equal(result.tsne.withText, null);
    for (const file of ['confusionWithoutTextPng', 'tsneWithoutText', 'attentionStatistics', 'attentionShareCsv', 'attentionMaps', 'report'] as const) {
      assert.ok(imageOnly.has(file), `${RUN_FILES[file].name} missing`);
    }
    for (const file of ['confusionWithTextPng', 'tsneWithText', 'attentionByTypeCsv', 'attentionByTypePng', 'attentionRelativeByTypePng'] as const) {
      assert.ok(!imageOnly.has(file), `${RUN_FILES[file].name} written for a model that reads no text`);
    }
    assert.equal(readdirSync(imageOnly.path('attentionMapsFolder')).length, 4 * 2);
    const page = readFileSync(imageOnly.path('report'), 'utf8');
    assert.match(page, /Not tested with text, because the model reads no text/);
    assert.doesNotMatch(page, /alt="t-SNE with text"/);
  });
});
