/**
 * Sum and Mean over leading axes for the wasm backend. The stock kernels of
 * @tensorflow/tfjs-backend-wasm 4.22.0 reduce only innermost axes, so a reduction over the batch and
 * spatial axes of an NHWC tensor (batch norm statistics, and the gradient of every per-channel bias or
 * scale) first transposes the whole tensor. These kernels add the halves of the rows with the stock Add
 * kernel instead, several times faster, and hand every other reduction to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type KernelArguments,
  type WasmBackend,
  createHeapView,
  disposeIntermediates,
  releaseHeapView,
  runWasmKernel,
} from './heap.ts';
import { runStockKernel } from './stock-kernels.ts';

/** Returns how many leading axes `axes` reduces, or 0 unless they are exactly axes 0..k-1. */
function countLeadingAxes(axes: number[], rank: number): number {
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length > rank) return 0;
  return sorted.every((axis, index) => axis === index) ? sorted.length : 0;
}

/**
 * Reduces x [...reduced, ...kept] to [...kept] (keeping size-1 axes with keepDims) by summing rows, then
 * divides by the row count for a mean. Returns null when the stock kernel should run instead.
 *
 * The rows are summed pairwise: the first half of the rows plus the second half, with the stock
 * (SIMD) Add kernel on views of the two halves, until one row is left. A row left over at an odd count
 * is added in JavaScript. A JavaScript loop over all rows runs no faster than the stock transpose, so the
 * bulk of the additions has to stay in wasm.
 */
function reduceLeadingAxes(args: KernelArguments, mean: boolean): tf.TensorInfo | null {
  const { inputs, backend: kernelBackend, attrs = {} } = args;
  const backend = kernelBackend as WasmBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const supportedType = x.dtype === 'float32' || (!mean && x.dtype === 'int32');
  if (!supportedType) return null;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const reducedCount = countLeadingAxes(axes, x.shape.length);
  if (reducedCount === 0) return null;

  let rowCount = tf.util.sizeFromShape(x.shape.slice(0, reducedCount));
  const keptShape = x.shape.slice(reducedCount);
  const rowLength = tf.util.sizeFromShape(keptShape);
  const outputShape = keepDims ? [...new Array<number>(reducedCount).fill(1), ...keptShape] : keptShape;
  const scale = mean && rowCount > 0 ? 1 / rowCount : 1;
  const leftover = new Float64Array(rowLength);

  // [rowCount, rowLength], the current partial sums; x itself until the first addition.
  let partial: tf.TensorInfo = { dataId: x.dataId, shape: [rowCount, rowLength], dtype: x.dtype };
  while (rowCount > 1) {
    if (rowCount % 2 === 1) {
      const values = backend.typedArrayFromHeap(partial) as Float32Array | Int32Array;
      const lastRow = (rowCount - 1) * rowLength;
      for (let k = 0; k < rowLength; k++) leftover[k] += values[lastRow + k];
      rowCount -= 1;
    }
    const half = rowCount / 2;
    const firstHalf = createHeapView(backend, partial, 0, [half, rowLength]);
    const secondHalf = createHeapView(backend, partial, half * rowLength, [half, rowLength]);
    const sum = runWasmKernel('Add', backend, { a: firstHalf, b: secondHalf });
    releaseHeapView(backend, firstHalf);
    releaseHeapView(backend, secondHalf);
    if (partial.dataId !== x.dataId) disposeIntermediates(backend, partial);
    partial = sum;
    rowCount = half;
  }

  const output = backend.makeOutput(outputShape, x.dtype);
  const result = backend.typedArrayFromHeap(output) as Float32Array | Int32Array;
  if (rowCount === 1) {
    const values = backend.typedArrayFromHeap(partial) as Float32Array | Int32Array;
    for (let k = 0; k < rowLength; k++) result[k] = (values[k] + leftover[k]) * scale;
  } else {
    result.fill(0);
  }
  if (partial.dataId !== x.dataId) disposeIntermediates(backend, partial);
  return output;
}

/** Sum: x reduced over attrs.axis. */
function sum(args: KernelArguments): tf.TensorInfo {
  return reduceLeadingAxes(args, false) ?? runStockKernel(tf.Sum, args);
}

/** Mean: x reduced over attrs.axis, as float32. */
function mean(args: KernelArguments): tf.TensorInfo {
  return reduceLeadingAxes(args, true) ?? runStockKernel(tf.Mean, args);
}

export const sumConfig: tf.KernelConfig = { kernelName: tf.Sum, backendName: 'wasm', kernelFunc: sum };
export const meanConfig: tf.KernelConfig = { kernelName: tf.Mean, backendName: 'wasm', kernelFunc: mean };
