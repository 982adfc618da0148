import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { lstmSentenceStates } from '../../src/backend/fused-lstm.ts';
import { registerWasmTrainingKernels } from '../../src/backend/wasm-kernels.ts';
import { randomValues, relativeError, runOn } from './compare.ts';

before(async () => {
  registerWasmTrainingKernels();
  tf.enableProdMode();
});

/**
 * Computes the same network from tfjs ops, step by step: gates = [x_t ; h_{t-1}] W + bias, split into
 * input, forget, candidate and output, and each sentence's state gathered by a masked sum over the steps.
 */
function referenceSentenceStates(
  inputs: tf.Tensor3D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D,
  sentenceSteps: Int32Array,
  sentences: number,
): tf.Tensor3D {
  const [steps, batch] = inputs.shape;
  const size = weight.shape[1] / 4;
  let hidden: tf.Tensor2D = tf.zeros([batch, size]);
  let cell: tf.Tensor2D = tf.zeros([batch, size]);
  let states: tf.Tensor3D = tf.zeros([batch, sentences, size]);
  for (let t = 0; t < steps; t++) {
    const word = tf.reshape(tf.slice(inputs, [t, 0, 0], [1, batch, inputs.shape[2]]), [batch, inputs.shape[2]]) as tf.Tensor2D;
    const gates = tf.add(tf.matMul(tf.concat([word, hidden], 1), weight), bias) as tf.Tensor2D;
    const [input, forget, candidate, output] = tf.split(gates, 4, 1);
    cell = tf.add(tf.mul(tf.sigmoid(forget), cell), tf.mul(tf.sigmoid(input), tf.tanh(candidate)));
    hidden = tf.mul(tf.sigmoid(output), tf.tanh(cell));
    const ends = new Float32Array(batch * sentences);
    sentenceSteps.forEach((step, index) => {
      if (step === t) ends[index] = 1;
    });
    states = tf.add(states, tf.mul(tf.expandDims(hidden, 1), tf.tensor3d(ends, [batch, sentences, 1])));
  }
  return states;
}

interface LstmCase {
  name: string;
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
  sentences: number;
  /** B x N sentence steps, -1 for absent sentences. */
  sentenceSteps: number[];
}

const CASES: LstmCase[] = [
  { name: 'two samples with absent slots', steps: 6, batch: 2, inputSize: 3, hiddenSize: 4, sentences: 3, sentenceSteps: [1, 4, -1, 0, 5, 2] },
  { name: 'steps after the last sentence', steps: 7, batch: 3, inputSize: 5, hiddenSize: 2, sentences: 2, sentenceSteps: [2, -1, 3, 1, 0, -1] },
  { name: 'one step', steps: 1, batch: 2, inputSize: 2, hiddenSize: 3, sentences: 1, sentenceSteps: [0, 0] },
  { name: 'no sentences', steps: 3, batch: 2, inputSize: 2, hiddenSize: 2, sentences: 2, sentenceSteps: [-1, -1, -1, -1] },
  { name: 'wider layer', steps: 9, batch: 4, inputSize: 16, hiddenSize: 12, sentences: 4, sentenceSteps: [2, 5, 8, -1, 0, 1, 2, 3, 8, -1, -1, -1, 4, 4, 6, 7] },
];

/** Returns a function that computes the output and the gradients of sum(output * weights) for inputs, weight and bias. */
function valueAndGradients(
  lstm: typeof lstmSentenceStates,
  testCase: LstmCase,
  seed: number,
): () => tf.Tensor[] {
  const { steps, batch, inputSize, hiddenSize, sentences } = testCase;
  const inputValues = randomValues(steps * batch * inputSize, seed);
  const weightValues = randomValues((inputSize + hiddenSize) * 4 * hiddenSize, seed + 1).map((value) => value * 0.5);
  const biasValues = randomValues(4 * hiddenSize, seed + 2);
  const outputWeights = randomValues(batch * sentences * hiddenSize, seed + 3);
  const sentenceSteps = Int32Array.from(testCase.sentenceSteps);
  return () => {
    const inputs = tf.tensor3d(inputValues, [steps, batch, inputSize]);
    const weight = tf.tensor2d(weightValues, [inputSize + hiddenSize, 4 * hiddenSize]);
    const bias = tf.tensor1d(biasValues);
    const loss = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(lstm(x as tf.Tensor3D, w as tf.Tensor2D, b as tf.Tensor1D, sentenceSteps, sentences), tf.tensor3d(outputWeights, [batch, sentences, hiddenSize])));
    const value = lstm(inputs, weight, bias, sentenceSteps, sentences);
    const gradients = tf.grads(loss)([inputs, weight, bias]);
    return [value, ...gradients];
  };
}

describe('lstmSentenceStates', () => {
  for (const [index, testCase] of CASES.entries()) {
    for (const backend of ['cpu', 'wasm'] as const) {
      test(`matches tfjs ops on ${backend}: ${testCase.name}`, async () => {
        const expected = await runOn('cpu', valueAndGradients(referenceSentenceStates, testCase, 10 * index));
        const actual = await runOn(backend, valueAndGradients(lstmSentenceStates, testCase, 10 * index));
        const names = ['states', 'input gradient', 'weight gradient', 'bias gradient'];
        for (let i = 0; i < names.length; i++) {
          const error = relativeError(actual[i], expected[i]);
          assert.ok(error < 1e-5, `${names[i]}: relative error ${error}`);
        }
      });
    }
  }

  test('leaves absent sentences zero', async () => {
    const [states] = await runOn('wasm', valueAndGradients(lstmSentenceStates, CASES[0], 3));
    // Sample 0, slot 2 is absent: elements 2*4 .. 3*4 - 1.
    assert.deepEqual([...states.subarray(8, 12)], [0, 0, 0, 0]);
  });

  test('rejects mismatched shapes and steps', async () => {
    await runOn('cpu', () => {
      const inputs = tf.zeros([3, 2, 4]) as tf.Tensor3D;
      const weight = tf.zeros([6, 8]) as tf.Tensor2D;
      const bias = tf.zeros([8]) as tf.Tensor1D;
      assert.throws(() => lstmSentenceStates(inputs, tf.zeros([5, 8]) as tf.Tensor2D, bias, new Int32Array(2), 1), /do not fit/);
      assert.throws(() => lstmSentenceStates(inputs, weight, bias, new Int32Array(3), 1), /expected B x N = 2/);
      assert.throws(() => lstmSentenceStates(inputs, weight, bias, Int32Array.from([0, 3]), 1), /outside \[-1, 3\)/);
      return tf.zeros([1]);
    });
  });

  test('leaves no tensors behind', async () => {
    await runOn('wasm', () => tf.zeros([1]));
    const before = tf.memory().numTensors;
    await runOn('wasm', valueAndGradients(lstmSentenceStates, CASES[4], 1));
    assert.equal(tf.memory().numTensors, before);
  });
});
