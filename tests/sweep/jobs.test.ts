import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultJobs, threadsPerTrial } from '../../src/sweep/jobs.ts';

describe('default jobs', () => {
  const none = () => false;

  test('wasm trials fill the cores', () => {
    assert.equal(defaultJobs(['wasm'], 100, { cores: 8, isInstalled: none }), 8);
    assert.equal(defaultJobs(['auto'], 3, { cores: 8, isInstalled: none }), 3, 'no more jobs than trials');
    assert.equal(defaultJobs(['wasm'], 0, { cores: 8, isInstalled: none }), 1);
  });

  test('tensorflow trials run one at a time', () => {
    const tensorflow = (name: string) => name === '@tensorflow/tfjs-node';
    assert.equal(threadsPerTrial('auto', { cores: 8, isInstalled: tensorflow }), 8);
    assert.equal(defaultJobs(['auto'], 10, { cores: 8, isInstalled: tensorflow }), 1);
    assert.equal(defaultJobs(['wasm', 'tensorflow-gpu'], 10, { cores: 8, isInstalled: none }), 1);
  });
});
