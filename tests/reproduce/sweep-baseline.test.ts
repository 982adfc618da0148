import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSweepBaseline, isSweepBaseline, createBaseline } from '../../src/reproduce/baseline.ts';
import type { FinishedRun } from '../../src/reproduce/metrics.ts';

/** Builds a finished run with the given split sizes and one metric of each kind. */
function finishedRun(runDir: string, samples: FinishedRun['samples'], backend: string): FinishedRun {
  return {
    runDir,
    metrics: { bestEpoch: 2, 'test.accuracyWithText': 0.5, 'validationAtBestEpoch.accuracyWithText': 0.25, 'test.lossWithText': 0.9 },
    record: { experiment: 'table1', backend: { name: backend, deterministic: true }, configSha256: `config-of-${runDir}` },
    samples,
  };
}

describe('sweep baselines', () => {
  test('sweep baseline keys and tolerances', () => {
    const first = finishedRun('/r/table1/sweep-abc/trials/t1/table1/20260101-000000', { train: 100, validation: 20, test: 40 }, 'wasm');
    const second = finishedRun('/r/table1/sweep-abc/trials/t2/table1/20260101-000100', { train: 80, validation: 25, test: 50 }, 'cpu');
    const baseline = createSweepBaseline({ sweepDir: '/r/table1/sweep-abc', runs: { 'WRN16-4, seed 1234': first, 'TandemNet, seed 1234': second } });

    assert.deepEqual(Object.keys(baseline.runs), ['WRN16-4, seed 1234', 'TandemNet, seed 1234']);
    assert.deepEqual(baseline.runs['TandemNet, seed 1234'].metrics, second.metrics);
    assert.deepEqual(baseline.tolerances['test.accuracyWithText'], { absolute: 1 / 40, relative: 0 });
    assert.deepEqual(baseline.tolerances['validationAtBestEpoch.accuracyWithText'], { absolute: 1 / 20, relative: 0 });
    assert.deepEqual(baseline.tolerances.bestEpoch, { absolute: 0, relative: 0 });
    assert.equal(baseline.source.run, 'table1/sweep-abc');
    assert.equal(baseline.source.backend, 'wasm', 'the provenance is the first trial\'s');
    assert.equal(isSweepBaseline(baseline), true);
    assert.equal(isSweepBaseline(createBaseline(first)), false);
  });
});
