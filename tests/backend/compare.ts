/**
 * Helpers that run the same tfjs computation on the cpu and wasm backends and compare the results.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Random } from '../../src/random.ts';

/** Float32 values of a standard normal distribution, seeded. */
export function randomValues(size: number, seed: number): Float32Array {
  const random = new Random(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = random.normal();
  return values;
}

/** Runs `compute` on `backendName` and returns the values of the tensors it returns. */
export async function runOn(
  backendName: 'cpu' | 'wasm',
  compute: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  assert.equal(await tf.setBackend(backendName), true, `tf.setBackend('${backendName}') failed`);
  assert.equal(tf.getBackend(), backendName);
  const results = tf.tidy(compute);
  const tensors = Array.isArray(results) ? results : [results];
  const values = tensors.map((tensor) => Float32Array.from(tensor.dataSync()));
  tf.dispose(tensors);
  return values;
}

/** max |actual - expected| / max |expected|, or max |actual - expected| when expected is all zero. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, 'result sizes differ');
  let maxDifference = 0;
  let maxReference = 0;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    if (!(difference <= maxDifference)) maxDifference = difference;
    maxReference = Math.max(maxReference, Math.abs(expected[i]));
  }
  return maxReference === 0 ? maxDifference : maxDifference / maxReference;
}

/**
 * Asserts that `compute` on wasm gives the result of `reference` (by default `compute` itself) on cpu
 * to a relative error below `tolerance`.
 */
export async function assertWasmMatchesCpu(
  label: string,
  compute: () => tf.Tensor | tf.Tensor[],
  tolerance = 1e-4,
  reference = compute,
): Promise<void> {
  const expected = await runOn('cpu', reference);
  const actual = await runOn('wasm', compute);
  assert.equal(actual.length, expected.length, `${label}: number of results`);
  for (let i = 0; i < expected.length; i++) {
    const error = relativeError(actual[i], expected[i]);
    assert.ok(error < tolerance, `${label}, result ${i}: relative error ${error} >= ${tolerance}`);
  }
}
