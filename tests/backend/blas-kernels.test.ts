import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BLAS_LIBRARY_VARIABLE, type NativeBlas, findBlasLibrary, loadNativeBlas } from '../../src/backend/native-blas.ts';
import { selectBackend } from '../../src/backend/select.ts';
import { blasKernelsRegistered, registerBlasKernels, unregisterBlasKernels } from '../../src/backend/wasm-blas-kernels.ts';
import { registerWasmTrainingKernels } from '../../src/backend/wasm-kernels.ts';
import { setScratchElements } from '../../src/backend/wasm/blas-convolution.ts';
import { randomValues, relativeError, runOn } from './compare.ts';

const status = loadNativeBlas(2);
const skip = status.available ? false : `OpenBLAS is not available: ${status.reason}`;

/** The loaded library with its sgemm calls counted, so that a test can tell the native path from a fallback. */
let sgemmCalls = 0;
let counting: NativeBlas | undefined;
if (status.available) {
  const { blas } = status;
  counting = {
    ...blas,
    sgemm(...args: Parameters<NativeBlas['sgemm']>) {
      sgemmCalls++;
      blas.sgemm(...args);
    },
  };
}

type Padding = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvolutionCase {
  name: string;
  inputShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: number | [number, number];
  pad: Padding;
  /** Whether the OpenBLAS kernels cover the case; the others run the replaced kernels. */
  native: boolean;
}

const CONVOLUTION_CASES: ConvolutionCase[] = [
  { name: '3x3 stride 1 same, large image', inputShape: [2, 16, 16, 16], filterShape: [3, 3, 16, 24], strides: 1, pad: 'same', native: true },
  { name: '3x3 stride 1 same, small image', inputShape: [3, 4, 4, 32], filterShape: [3, 3, 32, 16], strides: 1, pad: 'same', native: true },
  { name: '3x3 stride 2 same', inputShape: [4, 16, 12, 32], filterShape: [3, 3, 32, 24], strides: 2, pad: 'same', native: true },
  { name: '3x3 stride 2 valid', inputShape: [2, 10, 9, 16], filterShape: [3, 3, 16, 16], strides: 2, pad: 'valid', native: true },
  { name: '3x3 stride 2 explicit', inputShape: [2, 9, 8, 16], filterShape: [3, 3, 16, 16], strides: 2, pad: [[0, 0], [2, 1], [0, 3], [0, 0]], native: true },
  { name: '3x3 strides 2 and 1', inputShape: [2, 11, 10, 16], filterShape: [3, 3, 16, 16], strides: [2, 1], pad: 'same', native: true },
  { name: '3x3 stride 1 padding beyond filter', inputShape: [1, 7, 6, 16], filterShape: [3, 3, 16, 16], strides: 1, pad: 2, native: true },
  { name: '1x1 stride 1 valid', inputShape: [2, 8, 9, 16], filterShape: [1, 1, 16, 20], strides: 1, pad: 'valid', native: true },
  { name: '1x1 stride 2 same', inputShape: [2, 8, 9, 16], filterShape: [1, 1, 16, 20], strides: 2, pad: 'same', native: true },
  { name: '7x7 stride 4 stem with 3 channels', inputShape: [2, 19, 17, 3], filterShape: [7, 7, 3, 16], strides: 4, pad: 'same', native: false },
];

/** Returns y, dx and dW of one convolution, with dy drawn from a fixed seed. */
function convolutionWithGradients(testCase: ConvolutionCase): () => tf.Tensor[] {
  const { inputShape, filterShape, strides, pad } = testCase;
  const outShape = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad).outShape;
  return () => {
    const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(inputShape), 1), inputShape);
    const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(filterShape), 2), filterShape);
    const dy = tf.tensor4d(randomValues(tf.util.sizeFromShape(outShape), 3), outShape as [number, number, number, number]);
    const y = tf.conv2d(x, filter, strides, pad);
    const [dx, dFilter] = tf.grads((input: tf.Tensor, weights: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, weights as tf.Tensor4D, strides, pad), dy)),
    )([x, filter]);
    return [y, dx, dFilter];
  };
}

const RESULT_NAMES = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

describe('OpenBLAS kernels of the wasm backend', { skip }, () => {
  before(() => {
    registerWasmTrainingKernels();
    registerBlasKernels(counting as NativeBlas);
  });

  after(() => {
    unregisterBlasKernels();
    setScratchElements();
  });

  for (const testCase of CONVOLUTION_CASES) {
    test(`convolution ${testCase.name} matches cpu`, async () => {
      const compute = convolutionWithGradients(testCase);
      const expected = await runOn('cpu', compute);
      sgemmCalls = 0;
      const actual = await runOn('wasm', compute);
      for (let i = 0; i < expected.length; i++) {
        const error = relativeError(actual[i], expected[i]);
        assert.ok(error < 1e-5, `${RESULT_NAMES[i]}: relative error ${error}`);
      }
      if (testCase.native) assert.ok(sgemmCalls >= 3, `expected OpenBLAS calls for all three kernels, got ${sgemmCalls}`);
      else assert.equal(sgemmCalls, 0, 'a case below 16 channels should run the replaced kernels');
    });
  }

  test('convolution in several chunks matches cpu', async () => {
    // Small enough that every kernel splits these batches into chunks of one or two images.
    setScratchElements(20_000);
    try {
      for (const testCase of CONVOLUTION_CASES.filter((candidate) => candidate.native).slice(0, 5)) {
        const compute = convolutionWithGradients({ ...testCase, inputShape: [5, ...testCase.inputShape.slice(1)] as ConvolutionCase['inputShape'] });
        const expected = await runOn('cpu', compute);
        const actual = await runOn('wasm', compute);
        for (let i = 0; i < expected.length; i++) {
          const error = relativeError(actual[i], expected[i]);
          assert.ok(error < 1e-5, `${testCase.name}, ${RESULT_NAMES[i]}: relative error ${error}`);
        }
      }
    } finally {
      setScratchElements();
    }
  });

  const MATMUL_CASES: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [
    { a: [5, 7], b: [7, 9], transposeA: false, transposeB: false },
    { a: [7, 5], b: [7, 9], transposeA: true, transposeB: false },
    { a: [5, 7], b: [9, 7], transposeA: false, transposeB: true },
    { a: [7, 5], b: [9, 7], transposeA: true, transposeB: true },
    { a: [3, 5, 7], b: [7, 9], transposeA: false, transposeB: false },
    { a: [3, 7, 5], b: [3, 9, 7], transposeA: true, transposeB: true },
    { a: [1, 5, 7], b: [4, 7, 9], transposeA: false, transposeB: false },
    { a: [2, 3, 5, 7], b: [2, 3, 7, 9], transposeA: false, transposeB: false },
  ];

  for (const { a, b, transposeA, transposeB } of MATMUL_CASES) {
    test(`matMul ${a} by ${b} transposeA ${transposeA} transposeB ${transposeB} matches cpu`, async () => {
      const compute = () =>
        tf.matMul(
          tf.tensor(randomValues(tf.util.sizeFromShape(a), 4), a),
          tf.tensor(randomValues(tf.util.sizeFromShape(b), 5), b),
          transposeA,
          transposeB,
        );
      const [expected] = await runOn('cpu', compute);
      sgemmCalls = 0;
      const [actual] = await runOn('wasm', compute);
      assert.ok(relativeError(actual, expected) < 1e-5, `relative error ${relativeError(actual, expected)}`);
      assert.ok(sgemmCalls > 0, 'expected the product to run on OpenBLAS');
    });
  }

  test('matMul of int32 tensors falls back', async () => {
    // The project's BatchMatMul, which the OpenBLAS kernel falls back to, rejects int32 tensors.
    sgemmCalls = 0;
    await assert.rejects(
      runOn('wasm', () => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32'))),
      /supports only float32 tensors, got int32/,
    );
    assert.equal(sgemmCalls, 0);
  });

  test('training step repeats bitwise', async () => {
    const blas = counting as NativeBlas;
    blas.setThreads(blas.maxThreads);
    const step = () => {
      const x = tf.tensor4d(randomValues(4 * 12 * 12 * 16, 6), [4, 12, 12, 16]);
      const first = tf.tensor4d(randomValues(3 * 3 * 16 * 32, 7), [3, 3, 16, 32]);
      const second = tf.tensor4d(randomValues(3 * 3 * 32 * 32, 8), [3, 3, 32, 32]);
      const dense = tf.tensor2d(randomValues(32 * 10, 9), [32, 10]);
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const hidden = tf.relu(tf.conv2d(x, a as tf.Tensor4D, 2, 'same'));
        const features = tf.mean(tf.conv2d(hidden, b as tf.Tensor4D, 1, 'same'), [1, 2]) as tf.Tensor2D;
        return tf.sum(tf.square(tf.matMul(features, c as tf.Tensor2D)));
      };
      return tf.grads(loss)([first, second, dense]);
    };
    try {
      const once = await runOn('wasm', step);
      const again = await runOn('wasm', step);
      for (let i = 0; i < once.length; i++) {
        assert.deepEqual(Buffer.from(again[i].buffer), Buffer.from(once[i].buffer), `gradient ${i} differs between runs`);
      }
    } finally {
      blas.setThreads(1);
    }
  });

  test('unregistering restores the replaced kernels', async () => {
    unregisterBlasKernels();
    try {
      assert.equal(blasKernelsRegistered(), false);
      const compute = convolutionWithGradients(CONVOLUTION_CASES[0]);
      const expected = await runOn('cpu', compute);
      sgemmCalls = 0;
      const actual = await runOn('wasm', compute);
      assert.equal(sgemmCalls, 0);
      for (let i = 0; i < expected.length; i++) assert.ok(relativeError(actual[i], expected[i]) < 1e-4, RESULT_NAMES[i]);
    } finally {
      registerBlasKernels(counting as NativeBlas);
    }
    assert.equal(blasKernelsRegistered(), true);
  });
});

describe('OpenBLAS selection', () => {
  test('blas openblas warns when unavailable', async () => {
    const info = await selectBackend('wasm', { blas: 'openblas', loadBlas: () => ({ available: false, reason: 'Not here.' }) });
    assert.equal(info.blas.active, false);
    assert.equal(info.blas.reason, 'Not here.');
    assert.equal(blasKernelsRegistered(), false);
    assert.ok(
      info.warnings.some((warning) => warning.includes('`blas: openblas` is not available') && warning.includes('Not here.')),
      info.warnings.join('\n'),
    );
  });

  test('blas auto is quiet when unavailable', async () => {
    const saved = process.env.TANDEM_BLAS_LIBRARY;
    delete process.env.TANDEM_BLAS_LIBRARY;
    try {
      const info = await selectBackend('wasm', { blas: 'auto', loadBlas: () => ({ available: false, reason: 'Not here.' }) });
      assert.equal(info.blas.active, false);
      assert.deepEqual(info.warnings, []);

      // A library that the user names is worth a warning even with auto.
      process.env.TANDEM_BLAS_LIBRARY = '/no/such/libopenblas.so.0';
      const named = await selectBackend('wasm', { blas: 'auto', loadBlas: () => ({ available: false, reason: 'Not here.' }) });
      assert.equal(named.warnings.length, 1);
      assert.match(named.warnings[0], /^OpenBLAS is not available, .*Not here\. Fix the path/);
    } finally {
      if (saved === undefined) delete process.env.TANDEM_BLAS_LIBRARY;
      else process.env.TANDEM_BLAS_LIBRARY = saved;
    }
  });

  test('blas off keeps XNNPACK', async () => {
    const info = await selectBackend('wasm', { blas: 'off' });
    assert.equal(info.blas.active, false);
    assert.equal(info.blas.reason, 'The config sets `blas: off`.');
    assert.equal(blasKernelsRegistered(), false);
  });

  test('blas auto registers the kernels', { skip }, async () => {
    const info = await selectBackend('wasm', { blas: 'auto' });
    try {
      assert.equal(info.blas.active, true);
      assert.equal(blasKernelsRegistered(), true);
      assert.match(info.blas.config ?? '', /OpenBLAS/);
      assert.match(info.note, /OpenBLAS/);
    } finally {
      unregisterBlasKernels();
    }
  });

  test('library path from the environment', () => {
    const previous = process.env[BLAS_LIBRARY_VARIABLE];
    try {
      process.env[BLAS_LIBRARY_VARIABLE] = '/nonexistent/libopenblas.so.0';
      assert.deepEqual(findBlasLibrary(), {
        reason: `${BLAS_LIBRARY_VARIABLE} is /nonexistent/libopenblas.so.0, which does not exist.`,
      });
      process.env[BLAS_LIBRARY_VARIABLE] = process.execPath;
      assert.deepEqual(findBlasLibrary(), { path: process.execPath });
    } finally {
      if (previous === undefined) delete process.env[BLAS_LIBRARY_VARIABLE];
      else process.env[BLAS_LIBRARY_VARIABLE] = previous;
    }
  });
});
