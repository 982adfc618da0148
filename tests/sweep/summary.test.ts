import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RUN_FILES } from '../../src/artifacts/files.ts';
import { TandemError } from '../../src/errors.ts';
import { sweepPath, trialFolder, writeManifest, type SweepManifest, type TrialRecord } from '../../src/sweep/manifest.ts';
import { prepareSweep } from '../../src/sweep/resume.ts';
import { describe as describeValues, formatPercent, renderCsv, renderMarkdown, summarizeSweep, writeSummary } from '../../src/sweep/summary.ts';
import { plan, temporaryFolder, type TemporaryFolder } from './helpers.ts';

/** A confusion matrix of 5 test images whose macro-F1 is (1 + 0.8 + 0) / 3 = 0.6. */
const CONFUSION = [
  [2, 0, 0],
  [0, 2, 0],
  [0, 1, 0],
];

/** Marks `record` done with a finished run folder whose metrics.json contains the given accuracies. */
function finishTrial(sweepDir: string, record: TrialRecord, withoutText: number, withText: number | null): void {
  const runDir = path.join(trialFolder(record.id), 'demo', '20240101-000000');
  mkdirSync(path.join(sweepDir, runDir), { recursive: true });
  const metrics = {
    test: { samples: 5, accuracyWithoutText: withoutText, accuracyWithText: withText },
    classes: ['ABD', 'CHEST', 'HEAD'],
    confusionWithoutText: CONFUSION,
    confusionWithText: withText === null ? null : CONFUSION,
  };
  writeFileSync(path.join(sweepDir, runDir, RUN_FILES.metrics.name), JSON.stringify(metrics));
  writeFileSync(path.join(sweepDir, runDir, RUN_FILES.complete.name), '');
  record.status = 'done';
  record.runDir = runDir;
}

describe('sweep summary', () => {
  let folder: TemporaryFolder;
  before(() => {
    folder = temporaryFolder();
  });
  after(() => folder.remove());

  /** A sweep of a TandemNet and an image-only variant, two trials each; returns its folder and manifest. */
  async function variantSweep(name: string): Promise<{ sweepDir: string; manifest: SweepManifest }> {
    const file = folder.write(
      `${name}/sweep.yaml`,
      'name: demo\noutput:\n  root: out\nsweep:\n  variants:\n    TandemNet: {}\n    WRN16-4:\n      model.type: image-only\n  trials: 2\n',
    );
    const planned = await plan(file);
    const { manifest } = prepareSweep(planned);
    return { sweepDir: planned.sweepDir, manifest };
  }

  test('mean and sample standard deviation', () => {
    const statistic = describeValues([0.8, 0.6]);
    assert.ok(statistic !== null);
    assert.ok(Math.abs(statistic.mean - 0.7) < 1e-12);
    assert.ok(Math.abs(statistic.standardDeviation! - Math.sqrt(0.02)) < 1e-12);
    assert.equal(describeValues([0.5])?.standardDeviation, null);
    assert.equal(describeValues([]), null);
    assert.equal(formatPercent(statistic), '70.0 ± 14.1');
    assert.equal(formatPercent(describeValues([0.5])), '50.0');
    assert.equal(formatPercent(null), '-');
  });

  test('table marks image-only and failed trials', async () => {
    const { sweepDir, manifest } = await variantSweep('table');
    const [tandemA, tandemB, imageA, imageB] = manifest.trials;
    finishTrial(sweepDir, tandemA, 0.8, 0.9);
    finishTrial(sweepDir, tandemB, 0.6, 0.7);
    finishTrial(sweepDir, imageA, 0.75, 0.75);
    imageB.status = 'failed';
    imageB.reason = 'the pretrained weights file was not found';
    writeManifest(sweepDir, manifest);

    const summary = summarizeSweep(sweepDir);
    const [tandem, image] = summary.points;
    assert.equal(tandem.finished, 2);
    assert.ok(Math.abs(tandem.accuracyWithText!.mean - 0.8) < 1e-12);
    assert.ok(Math.abs(tandem.macroF1WithoutText!.mean - 0.6) < 1e-12);
    assert.equal(image.finished, 1);
    assert.equal(image.failed, 1);
    assert.equal(image.readsText, false);
    assert.equal(image.accuracyWithText, null, 'an image-only model has no accuracy with text');

    const markdown = renderMarkdown(summary);
    assert.match(markdown, /^\| variant \| trials \| accuracy without text \(%\) \| accuracy with text \(%\) \| macro-F1 without text \(%\) \| macro-F1 with text \(%\) \|$/m);
    assert.match(markdown, /^\| TandemNet \| 2\/2 \| 70\.0 ± 14\.1 \| 80\.0 ± 14\.1 \| 60\.0 ± 0\.0 \| 60\.0 ± 0\.0 \|$/m);
    assert.match(markdown, /^\| WRN16-4 \| 1\/2 \(1 failed\) \| 75\.0 \| - \| 60\.0 \| - \|$/m);
    assert.match(markdown, /## Failed trials\n\n- WRN16-4, seed 1235 \(trial \w+\) failed: the pretrained weights file was not found\. Log: trials\/\w+\/trial\.log/);

    const csv = renderCsv(summary).trim().split('\n');
    assert.equal(
      csv[0],
      'point,variant,trials,finished,failed,diverged,unfinished,accuracy_without_text_mean,accuracy_without_text_sd,accuracy_with_text_mean,accuracy_with_text_sd,macro_f1_without_text_mean,macro_f1_without_text_sd,macro_f1_with_text_mean,macro_f1_with_text_sd',
    );
    assert.equal(csv[2], '1,WRN16-4,2,1,1,0,0,0.75,,,,0.6,,,');
  });

  test('unfinished trials are counted', async () => {
    const { sweepDir, manifest } = await variantSweep('unfinished');
    finishTrial(sweepDir, manifest.trials[0], 0.5, 0.5);
    writeManifest(sweepDir, manifest);
    const markdown = renderMarkdown(summarizeSweep(sweepDir));
    assert.match(markdown, /^\| TandemNet \| 1\/2 \(1 unfinished\) \| 50\.0 \|/m);
    assert.match(markdown, /3 trials have not finished; run the sweep's config again to run them\./);
  });

  test('one-parameter grid gets a plot', async () => {
    const file = folder.write('grid/sweep.yaml', 'name: demo\nsweep:\n  grid:\n    model.textDropRate: [0, 0.5]\n  trials: 2\n');
    const planned = await plan(file);
    const { manifest } = prepareSweep(planned);
    manifest.trials.forEach((record, index) => finishTrial(planned.sweepDir, record, 0.5 + index / 10, 0.6 + index / 10));
    writeManifest(planned.sweepDir, manifest);

    const written = await writeSummary(planned.sweepDir, summarizeSweep(planned.sweepDir));
    for (const file of ['summaryMarkdown', 'summaryCsv', 'summaryJson', 'plotSpec', 'plotSvg', 'plotPng'] as const) {
      assert.ok(written.includes(sweepPath(planned.sweepDir, file)), `${file} written`);
      assert.ok(existsSync(sweepPath(planned.sweepDir, file)));
    }
    const spec = JSON.parse(readFileSync(sweepPath(planned.sweepDir, 'plotSpec'), 'utf8'));
    assert.equal(spec.data.values.length, 8, 'one value per trial and series');
    assert.match(readFileSync(sweepPath(planned.sweepDir, 'plotSvg'), 'utf8'), /^<svg/);
    assert.match(readFileSync(sweepPath(planned.sweepDir, 'summaryMarkdown'), 'utf8'), /^\| model\.textDropRate \| trials \|/m);
  });

  test('folder without manifest is explained', () => {
    assert.throws(() => summarizeSweep(folder.dir), /is not a sweep folder: it has no manifest\.json/);
    assert.throws(() => summarizeSweep(`${folder.dir}-absent`), (error: TandemError) => {
      assert.match(error.message, /-absent was not found\. A sweep folder is/);
      assert.equal(error.exitCode, 2);
      return true;
    });
  });
});
