import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  WASM_TRAINING_KERNELS,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelsRegistered,
} from '../../src/backend/wasm-kernels.ts';
import { assertWasmMatchesCpu, randomValues, relativeError, runOn } from './compare.ts';

type Padding = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvolutionCase {
  inputShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: number | [number, number];
  pad: Padding;
}

const CONVOLUTION_CASES: ConvolutionCase[] = [
  { inputShape: [2, 9, 7, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { inputShape: [2, 9, 7, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { inputShape: [2, 10, 9, 3], filterShape: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { inputShape: [2, 13, 14, 2], filterShape: [3, 3, 2, 3], strides: 4, pad: 'valid' },
  { inputShape: [2, 19, 17, 3], filterShape: [7, 7, 3, 4], strides: 4, pad: 'same' },
  { inputShape: [2, 19, 18, 2], filterShape: [7, 7, 2, 4], strides: 4, pad: 'valid' },
  { inputShape: [2, 8, 9, 6], filterShape: [1, 1, 6, 5], strides: 2, pad: 'same' },
  { inputShape: [2, 8, 9, 6], filterShape: [1, 1, 6, 5], strides: 1, pad: 'valid' },
  { inputShape: [2, 9, 7, 6], filterShape: [1, 1, 6, 5], strides: 4, pad: 'valid' },
  { inputShape: [1, 7, 6, 3], filterShape: [3, 3, 3, 2], strides: 1, pad: 2 },
  { inputShape: [1, 5, 5, 2], filterShape: [3, 3, 2, 2], strides: 1, pad: 4 },
  { inputShape: [2, 9, 8, 3], filterShape: [3, 3, 3, 2], strides: 2, pad: 1 },
  {
    inputShape: [2, 9, 8, 3],
    filterShape: [3, 3, 3, 2],
    strides: 2,
    pad: [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ],
  },
  { inputShape: [2, 11, 10, 3], filterShape: [3, 3, 3, 4], strides: [2, 1], pad: 'same' },
  { inputShape: [3, 16, 16, 16], filterShape: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { inputShape: [4, 16, 12, 32], filterShape: [3, 3, 32, 24], strides: 2, pad: 'same' },
];

function describeCase({ inputShape, filterShape, strides, pad }: ConvolutionCase): string {
  return `x ${inputShape} filter ${filterShape} strides ${strides} pad ${JSON.stringify(pad)}`;
}

function convolutionOutputShape({ inputShape, filterShape, strides, pad }: ConvolutionCase): number[] {
  return tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad).outShape;
}

before(async () => {
  registerWasmTrainingKernels();
  assert.equal(await tf.setBackend('wasm'), true);
  tf.enableProdMode();
});

describe('Conv2DBackpropFilter', () => {
  for (const [index, convolution] of CONVOLUTION_CASES.entries()) {
    test(`matches cpu: ${describeCase(convolution)}`, async () => {
      const { inputShape, filterShape, strides, pad } = convolution;
      const outputShape = convolutionOutputShape(convolution);
      const xValues = randomValues(tf.util.sizeFromShape(inputShape), 100 + index);
      const dyValues = randomValues(tf.util.sizeFromShape(outputShape), 200 + index);
      await assertWasmMatchesCpu(describeCase(convolution), () => {
        const x = tf.tensor(xValues, inputShape);
        const dy = tf.tensor(dyValues, outputShape);
        const attrs = { strides, pad, dataFormat: 'NHWC', filterShape };
        return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
      });
    });
  }
});

describe('Conv2DBackpropInput', () => {
  for (const [index, convolution] of CONVOLUTION_CASES.entries()) {
    test(`matches cpu: ${describeCase(convolution)}`, async () => {
      const { inputShape, filterShape, strides, pad } = convolution;
      const outputShape = convolutionOutputShape(convolution);
      const filterValues = randomValues(tf.util.sizeFromShape(filterShape), 300 + index);
      const dyValues = randomValues(tf.util.sizeFromShape(outputShape), 400 + index);
      await assertWasmMatchesCpu(describeCase(convolution), () => {
        const filter = tf.tensor(filterValues, filterShape);
        const dy = tf.tensor(dyValues, outputShape);
        const attrs = { strides, pad, dataFormat: 'NHWC', inputShape };
        return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as never) as tf.Tensor;
      });
    });
  }

  test('rejects NCHW data', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 3, 3]);
    const filter = tf.zeros([3, 3, 2, 2]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [1, 2, 3, 3] };
    assert.throws(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as never), /NHWC/);
    tf.dispose([dy, filter]);
  });
});

describe('UnsortedSegmentSum', () => {
  test('matches cpu with repeated and out-of-range ids', async () => {
    const ids = [3, 0, 3, -1, 5, 1, 6, 3];
    const xValues = randomValues(8 * 5, 500);
    await assertWasmMatchesCpu('rank-2 x', () =>
      tf.unsortedSegmentSum(tf.tensor2d(xValues, [8, 5]), tf.tensor1d(ids, 'int32'), 6),
    );
  });

  test('matches cpu for rank-3 x', async () => {
    const ids = [2, 2, 0, 1, 2];
    const xValues = randomValues(5 * 3 * 4, 501);
    await assertWasmMatchesCpu('rank-3 x', () =>
      tf.unsortedSegmentSum(tf.tensor3d(xValues, [5, 3, 4]), tf.tensor1d(ids, 'int32'), 4),
    );
  });

  test('sums int32 x exactly', async () => {
    const [sums] = await runOn('wasm', () =>
      tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 3),
    );
    assert.deepEqual(Array.from(sums), [5, 6, 4, 6, 0, 0]);
  });
});

interface PoolingCase {
  inputShape: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const POOLING_CASES: PoolingCase[] = [
  { inputShape: [2, 8, 9, 3], filterSize: 2, strides: 2, pad: 'valid' },
  { inputShape: [2, 9, 7, 4], filterSize: 3, strides: 2, pad: 'same' },
  { inputShape: [1, 7, 8, 2], filterSize: 3, strides: 1, pad: 'same' },
  { inputShape: [2, 10, 11, 3], filterSize: [3, 2], strides: [2, 3], pad: 'valid' },
  { inputShape: [1, 6, 6, 2], filterSize: 3, strides: 2, pad: 1 },
];

/** x with every value <= 0 and dy, for a MaxPoolGrad case. */
function poolingInputs(pooling: PoolingCase, seed: number, negative: boolean): { x: Float32Array; dy: Float32Array } {
  const x = randomValues(tf.util.sizeFromShape(pooling.inputShape), seed);
  if (negative) for (let i = 0; i < x.length; i++) x[i] = -Math.abs(x[i]) - 0.01;
  const info = tf.backend_util.computePool2DInfo(pooling.inputShape, pooling.filterSize, pooling.strides, 1, pooling.pad);
  const dy = randomValues(tf.util.sizeFromShape(info.outShape), seed + 1);
  return { x, dy };
}

function runMaxPoolGrad(pooling: PoolingCase, xValues: Float32Array, dyValues: Float32Array): tf.Tensor {
  const x = tf.tensor(xValues, pooling.inputShape) as tf.Tensor4D;
  const { filterSize, strides, pad } = pooling;
  const y = tf.maxPool(x, filterSize, strides, pad);
  const dy = tf.tensor(dyValues, y.shape);
  return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize, strides, pad } as never) as tf.Tensor;
}

describe('MaxPoolGrad', () => {
  for (const [index, pooling] of POOLING_CASES.entries()) {
    for (const negative of [false, true]) {
      const label = `x ${pooling.inputShape} filter ${pooling.filterSize} strides ${pooling.strides} pad ${pooling.pad}`;
      test(`matches cpu${negative ? ', all values negative' : ''}: ${label}`, async () => {
        const { x, dy } = poolingInputs(pooling, 600 + index, negative);
        await assertWasmMatchesCpu(label, () => runMaxPoolGrad(pooling, x, dy));
      });
    }
  }

  test('stock kernel is wrong for negative windows', async () => {
    // Shows that the negative-window cases above can fail: the kernel of tfjs-backend-wasm 4.22.0
    // passes no gradient through windows whose values are all <= 0.
    const pooling = POOLING_CASES[0];
    const { x, dy } = poolingInputs(pooling, 700, true);
    const [expected] = await runOn('cpu', () => runMaxPoolGrad(pooling, x, dy));
    unregisterWasmTrainingKernels();
    try {
      const [actual] = await runOn('wasm', () => runMaxPoolGrad(pooling, x, dy));
      assert.ok(relativeError(actual, expected) > 0.5, 'the stock MaxPoolGrad matched cpu on negative windows');
    } finally {
      registerWasmTrainingKernels();
    }
  });
});

interface MatMulCase {
  aShape: number[];
  bShape: number[];
}

const MAT_MUL_CASES: MatMulCase[] = [
  { aShape: [5, 7], bShape: [7, 3] },
  { aShape: [4, 5, 7], bShape: [4, 7, 3] },
  { aShape: [4, 5, 7], bShape: [7, 3] },
  { aShape: [5, 7], bShape: [4, 7, 3] },
  { aShape: [1, 5, 7], bShape: [4, 7, 3] },
  { aShape: [2, 1, 5, 7], bShape: [1, 3, 7, 4] },
  { aShape: [3, 1, 6], bShape: [3, 6, 2] },
  { aShape: [64, 96], bShape: [96, 40] },
];

/** Returns the stored shape of an operand: `shape` with its last two axes swapped when `transposed`. */
function storedShape(shape: number[], transposed: boolean): number[] {
  if (!transposed) return shape;
  const stored = shape.slice();
  [stored[stored.length - 2], stored[stored.length - 1]] = [stored[stored.length - 1], stored[stored.length - 2]];
  return stored;
}

describe('BatchMatMul', () => {
  for (const [index, { aShape, bShape }] of MAT_MUL_CASES.entries()) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const label = `a ${aShape} b ${bShape} transposeA ${transposeA} transposeB ${transposeB}`;
        test(`matches cpu: ${label}`, async () => {
          const aStored = storedShape(aShape, transposeA);
          const bStored = storedShape(bShape, transposeB);
          const aValues = randomValues(tf.util.sizeFromShape(aStored), 800 + index);
          const bValues = randomValues(tf.util.sizeFromShape(bStored), 900 + index);
          const multiply = () =>
            tf.matMul(tf.tensor(aValues, aStored), tf.tensor(bValues, bStored), transposeA, transposeB);
          // The cpu kernel of tfjs 4.22.0 mishandles batch axes that broadcast in both operands, so the
          // reference broadcasts them explicitly first.
          const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
          const reference = () =>
            tf.matMul(
              tf.broadcastTo(tf.tensor(aValues, aStored), [...batchShape, ...aStored.slice(-2)]),
              tf.broadcastTo(tf.tensor(bValues, bStored), [...batchShape, ...bStored.slice(-2)]),
              transposeA,
              transposeB,
            );
          await assertWasmMatchesCpu(label, multiply, 1e-4, reference);
        });
      }
    }
  }

  test('reshaped weights are not stale', async () => {
    // The stock kernel caches the packed b under its tensor id, which a reshape keeps.
    const aValues = randomValues(3 * 6, 850);
    const otherValues = randomValues(2 * 4, 851);
    const bValues = randomValues(6 * 4, 852);
    await assertWasmMatchesCpu('reshaped b', () => {
      const b = tf.tensor2d(bValues, [6, 4]);
      const first = tf.matMul(tf.tensor2d(aValues, [3, 6]), b);
      const second = tf.matMul(tf.tensor2d(otherValues, [2, 4]), b.reshape([4, 6]));
      const third = tf.matMul(tf.tensor2d(aValues, [3, 6]), b);
      return [first, second, third];
    });
  });

  test('returns zeros for an empty inner axis', async () => {
    const [product] = await runOn('wasm', () => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])));
    assert.deepEqual(Array.from(product), new Array(12).fill(0));
  });

  test('rejects mismatched inner axes', async () => {
    await tf.setBackend('wasm');
    assert.throws(() => tf.tidy(() => tf.matMul(tf.zeros([3, 4]), tf.zeros([5, 2]))), /inner shapes/);
  });
});

describe('Sum and Mean', () => {
  const cases: { shape: number[]; axes: number[]; keepDims: boolean }[] = [
    { shape: [7, 5, 3], axes: [0, 1], keepDims: false },
    { shape: [2, 3, 4, 5], axes: [0, 1, 2], keepDims: true },
    { shape: [3, 6], axes: [0], keepDims: false },
    { shape: [1, 4], axes: [0], keepDims: true },
    { shape: [64, 6], axes: [0], keepDims: false },
    { shape: [4, 5, 6], axes: [1, 2], keepDims: false },
    { shape: [4, 5, 6], axes: [0, 2], keepDims: true },
    { shape: [4, 5, 6], axes: [0, 1, 2], keepDims: false },
    { shape: [4, 5, 6], axes: [2, 0, 1], keepDims: true },
    { shape: [1023], axes: [0], keepDims: false },
  ];
  for (const [index, { shape, axes, keepDims }] of cases.entries()) {
    test(`matches cpu: ${shape} axes ${axes} keepDims ${keepDims}`, async () => {
      const values = randomValues(tf.util.sizeFromShape(shape), 1050 + index);
      await assertWasmMatchesCpu(`reduce ${shape}`, () => {
        const x = tf.tensor(values, shape);
        return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
      });
    });
  }

  test('sums int32 over leading axes exactly', async () => {
    const values = Array.from({ length: 5 * 3 * 2 }, (_, index) => index - 7);
    const compute = () => tf.sum(tf.tensor3d(values, [5, 3, 2], 'int32'), [0, 1]);
    const [expected] = await runOn('cpu', compute);
    const [actual] = await runOn('wasm', compute);
    assert.deepEqual(actual, expected);
  });
});

describe('GatherV2', () => {
  const cases: { shape: number[]; indexShape: number[]; axis: number; batchDims: number }[] = [
    { shape: [20, 6], indexShape: [3, 5], axis: 0, batchDims: 0 },
    { shape: [50, 32], indexShape: [40], axis: 0, batchDims: 0 },
    { shape: [4, 7, 3], indexShape: [5], axis: 1, batchDims: 0 },
    { shape: [4, 7, 3], indexShape: [2, 2], axis: 2, batchDims: 0 },
    { shape: [3, 7, 20], indexShape: [3, 4], axis: 1, batchDims: 1 },
  ];
  for (const [index, { shape, indexShape, axis, batchDims }] of cases.entries()) {
    test(`matches cpu: x ${shape} indices ${indexShape} axis ${axis} batchDims ${batchDims}`, async () => {
      const values = randomValues(tf.util.sizeFromShape(shape), 1030 + index);
      const random = randomValues(tf.util.sizeFromShape(indexShape), 1040 + index);
      const indices = Int32Array.from(random, (value) => Math.floor(Math.abs(value * 997)) % shape[axis]);
      const compute = () => tf.gather(tf.tensor(values, shape), tf.tensor(indices, indexShape, 'int32'), axis, batchDims);
      const [expected] = await runOn('cpu', compute);
      const [actual] = await runOn('wasm', compute);
      assert.deepEqual(actual, expected);
    });
  }

  test('rejects an index out of range', async () => {
    await tf.setBackend('wasm');
    assert.throws(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], 'int32'))), /index value 4/);
  });
});

describe('SplitV and Unpack', () => {
  const values = randomValues(4 * 6 * 5, 1060);
  const cases: { label: string; compute: () => tf.Tensor[] }[] = [
    { label: 'split into 3 along axis 1', compute: () => tf.split(tf.tensor3d(values, [4, 6, 5]), 3, 1) },
    { label: 'split by sizes along axis 2', compute: () => tf.split(tf.tensor3d(values, [4, 6, 5]), [2, -1, 1], 2) },
    { label: 'split int32 along axis 0', compute: () => tf.split(tf.tensor3d(values, [4, 6, 5]).toInt(), 2, 0) },
    { label: 'unstack axis 0', compute: () => tf.unstack(tf.tensor3d(values, [4, 6, 5]), 0) },
    { label: 'unstack axis 1', compute: () => tf.unstack(tf.tensor3d(values, [4, 6, 5]), 1) },
    { label: 'unstack axis -1', compute: () => tf.unstack(tf.tensor3d(values, [4, 6, 5]), -1) },
  ];
  for (const { label, compute } of cases) {
    test(`matches cpu: ${label}`, async () => {
      const run = () => compute().map((piece) => piece.toFloat());
      const expected = await runOn('cpu', run);
      const actual = await runOn('wasm', run);
      assert.deepEqual(actual, expected);
    });
  }
});

describe('Slice', () => {
  const cases: { shape: number[]; begin: number[]; size: number[]; dtype: 'float32' | 'int32' | 'bool' }[] = [
    { shape: [10], begin: [3], size: [4], dtype: 'float32' },
    { shape: [6, 7], begin: [1, 2], size: [3, -1], dtype: 'float32' },
    { shape: [6, 7], begin: [2, 0], size: [3, 7], dtype: 'int32' },
    { shape: [4, 5, 6], begin: [1, 0, 2], size: [2, 5, 3], dtype: 'float32' },
    { shape: [3, 4, 5, 6], begin: [0, 1, 1, 0], size: [3, 2, 3, 6], dtype: 'float32' },
    { shape: [2, 3, 4, 5, 6], begin: [1, 1, 0, 2, 3], size: [1, 2, 4, 2, 3], dtype: 'bool' },
    { shape: [4, 5], begin: [1, 1], size: [0, 3], dtype: 'float32' },
  ];
  for (const [index, { shape, begin, size, dtype }] of cases.entries()) {
    test(`matches cpu: ${dtype} ${shape} begin ${begin} size ${size}`, async () => {
      const values = randomValues(tf.util.sizeFromShape(shape), 1000 + index);
      const typed = dtype === 'float32' ? values : Int32Array.from(values, (value) => (value > 0 ? 1 : Math.round(value * 10)));
      const compute = () => tf.slice(tf.tensor(typed, shape, dtype), begin, size).toFloat();
      const [expected] = await runOn('cpu', compute);
      const [actual] = await runOn('wasm', compute);
      assert.deepEqual(actual, expected);
    });
  }

  test('slices string tensors through the stock kernel', async () => {
    await tf.setBackend('wasm');
    const sliced = tf.tidy(() => tf.slice(tf.tensor1d(['a', 'b', 'c', 'd']), [1], [2]));
    assert.deepEqual(sliced.arraySync(), ['b', 'c']);
    sliced.dispose();
  });
});

describe('gradients through ops', () => {
  test('tf.conv2d', async () => {
    const xValues = randomValues(2 * 12 * 10 * 3, 1100);
    const filterValues = randomValues(3 * 3 * 3 * 4, 1101);
    const weights = randomValues(2 * 6 * 5 * 4, 1102);
    await assertWasmMatchesCpu('conv2d gradients', () => {
      const x = tf.tensor4d(xValues, [2, 12, 10, 3]);
      const filter = tf.tensor4d(filterValues, [3, 3, 3, 4]);
      const loss = (input: tf.Tensor4D, kernel: tf.Tensor4D) =>
        tf.conv2d(input, kernel, 2, 'same').mul(tf.tensor4d(weights, [2, 6, 5, 4])).sum();
      return tf.grads(loss as (...args: tf.Tensor[]) => tf.Tensor)([x, filter]);
    });
  });

  test('tf.gather', async () => {
    const tableValues = randomValues(20 * 6, 1200);
    const weights = randomValues(3 * 5 * 6, 1201);
    const indices = [0, 3, 3, 19, 7, 0, 0, 2, 11, 3, 5, 5, 5, 1, 19];
    await assertWasmMatchesCpu('gather gradient', () => {
      const table = tf.tensor2d(tableValues, [20, 6]);
      const loss = (embedding: tf.Tensor) =>
        tf.gather(embedding, tf.tensor2d(indices, [3, 5], 'int32')).mul(tf.tensor3d(weights, [3, 5, 6])).sum();
      return tf.grads(loss)([table]);
    });
  });

  test('tf.maxPool with negative windows', async () => {
    const xValues = randomValues(2 * 8 * 8 * 3, 1300).map((value) => value - 1.5);
    const weights = randomValues(2 * 4 * 4 * 3, 1301);
    await assertWasmMatchesCpu('maxPool gradient', () => {
      const x = tf.tensor4d(xValues, [2, 8, 8, 3]);
      const loss = (input: tf.Tensor) =>
        tf.maxPool(input as tf.Tensor4D, 3, 2, 'same').mul(tf.tensor4d(weights, [2, 4, 4, 3])).sum();
      return tf.grads(loss)([x]);
    });
  });

  test('tf.matMul with every transpose', async () => {
    const aValues = randomValues(6 * 4, 1400);
    const bValues = randomValues(6 * 5, 1401);
    await assertWasmMatchesCpu('matMul gradients', () => {
      const a = tf.tensor2d(aValues, [6, 4]);
      const b = tf.tensor2d(bValues, [6, 5]);
      const gradients: tf.Tensor[] = [];
      for (const [transposeA, transposeB, aShape, bShape] of [
        [false, false, [4, 6], [6, 5]],
        [true, false, [6, 4], [6, 5]],
        [false, true, [4, 6], [5, 6]],
        [true, true, [6, 4], [5, 6]],
      ] as const) {
        const loss = (left: tf.Tensor, right: tf.Tensor) => tf.matMul(left, right, transposeA, transposeB).square().sum();
        gradients.push(...tf.grads(loss)([a.reshape([...aShape]), b.reshape([...bShape])]));
      }
      return gradients;
    });
  });

  test('batched tf.matMul', async () => {
    const aValues = randomValues(3 * 4 * 6, 1500);
    const bValues = randomValues(3 * 6 * 2, 1501);
    await assertWasmMatchesCpu('batched matMul gradients', () => {
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b).square().sum();
      return tf.grads(loss)([tf.tensor3d(aValues, [3, 4, 6]), tf.tensor3d(bValues, [3, 6, 2])]);
    });
  });

  test('small CNN with batch norm and a dense layer', async () => {
    const xValues = randomValues(4 * 16 * 16 * 3, 1600);
    const stemValues = randomValues(7 * 7 * 3 * 8, 1601).map((value) => value * 0.1);
    const convValues = randomValues(3 * 3 * 8 * 16, 1602).map((value) => value * 0.1);
    const shortcutValues = randomValues(8 * 16, 1603).map((value) => value * 0.3);
    const denseValues = randomValues(16 * 5, 1604).map((value) => value * 0.3);
    await assertWasmMatchesCpu('CNN gradients', () => {
      const x = tf.tensor4d(xValues, [4, 16, 16, 3]);
      const loss = (stem: tf.Tensor, conv: tf.Tensor, shortcut: tf.Tensor, dense: tf.Tensor) => {
        const features = tf.conv2d(x, stem as tf.Tensor4D, 4, 'same');
        const { mean, variance } = tf.moments(features, [0, 1, 2], true);
        const normalised = tf.relu(features.sub(mean).div(variance.add(1e-5).sqrt())) as tf.Tensor4D;
        const residual = tf.conv2d(normalised, conv as tf.Tensor4D, 2, 'same');
        const skip = tf.conv2d(normalised, shortcut.reshape([1, 1, 8, 16]) as tf.Tensor4D, 2, 'same');
        const pooled = residual.add(skip).mean([1, 2]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 3, 1, 4], 'int32'), 5), tf.matMul(pooled, dense));
      };
      return tf.grads(loss)([
        tf.tensor4d(stemValues, [7, 7, 3, 8]),
        tf.tensor4d(convValues, [3, 3, 8, 16]),
        tf.tensor2d(shortcutValues, [8, 16]),
        tf.tensor2d(denseValues, [16, 5]),
      ]);
    });
  });
});

describe('registration', () => {
  test('is idempotent', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    assert.ok(wasmTrainingKernelsRegistered());
    const wasmKernelNames = tf.getKernelsForBackend('wasm').map((config) => config.kernelName);
    for (const config of WASM_TRAINING_KERNELS) {
      const count = wasmKernelNames.filter((name) => name === config.kernelName).length;
      assert.equal(count, 1, `${config.kernelName} registered ${count} times`);
    }
  });

  test('unregistering restores the stock kernels', () => {
    unregisterWasmTrainingKernels();
    try {
      assert.equal(wasmTrainingKernelsRegistered(), false);
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
      assert.notEqual(tf.getKernel('Conv2DBackpropInput', 'wasm'), undefined);
    } finally {
      registerWasmTrainingKernels();
    }
    assert.ok(wasmTrainingKernelsRegistered());
  });

  test('kernels free their intermediates', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(randomValues(2 * 9 * 9 * 4, 1700), [2, 9, 9, 4]);
    const filter = tf.tensor4d(randomValues(3 * 3 * 4 * 4, 1701), [3, 3, 4, 4]);
    const table = tf.tensor2d(randomValues(10 * 4, 1702), [10, 4]);
    const tensorsBefore = tf.memory().numTensors;
    const dataBefore = backend.numDataIds();
    tf.tidy(() => {
      const loss = (input: tf.Tensor, kernel: tf.Tensor, embedding: tf.Tensor) => {
        const convolved = tf.conv2d(input as tf.Tensor4D, kernel as tf.Tensor4D, 2, 'valid');
        const pooled = tf.maxPool(convolved, 2, 1, 'same');
        const flat = pooled.reshape([2, -1]);
        const projected = tf.matMul(flat, flat, false, true);
        const embedded = tf.gather(embedding, tf.tensor1d([1, 1, 3], 'int32'));
        return projected.sum().add(tf.matMul(embedded, embedded, true, false).sum()).add(flat.slice([0, 2], [2, 5]).sum());
      };
      tf.grads(loss)([x, filter, table]);
    });
    assert.equal(tf.memory().numTensors, tensorsBefore);
    assert.equal(backend.numDataIds(), dataBefore);
    tf.dispose([x, filter, table]);
  });
});
